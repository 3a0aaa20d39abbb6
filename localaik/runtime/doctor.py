"""`localaik doctor`: what this machine has for localaik, checked, one line each.

    python        the interpreter and localaik's version
    settings      every LK_* setting parses (the same check `serve` makes at start)
    upstream      LK_UPSTREAM answers /health; or the bundled llama-server that serve would run
    model         the bundled model is cached and its sha256 matches (or the .gguf path exists)
    embeddings    the same for LK_EMBED_MODEL, when it names another model than the chat one
    poppler       pdfinfo and pdftoppm render a page with standard-14 text (PDF input)
    files root    LK_FILES_ROOT is a readable folder, when set
    cassette      the cassette folder can be written (record) or the cassette read (replay)
    cassettes     every cassette found opens as one: those given (`doctor PATHS`), else the
                  cassettes/ folder's (serve's and the pytest plugin's; LK_CASSETTE set: the
                  line above is about it)

Each check is `ok`, `warn` (works, but something will not) or `fail` (serve in this mode would
not work). What a mode does not need is never a failure: replay needs no model and no poppler.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from localaik import __version__
from localaik.config import (
    Embeddings,
    Mode,
    Settings,
    SettingsError,
    cassette_configured,
    mode_from_ci,
)
from localaik.errors import Error
from localaik.media import pdf
from localaik.runtime import catalogue as models
from localaik.runtime import install


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # "ok", "warn" or "fail"
    detail: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def run(
    environ: Mapping[str, str] | None = None, cassettes: Sequence[Path] | None = None
) -> list[Check]:
    """Every check, in order; the settings failing stops at that line (nothing else is sure).

    `environ` (default: this process's) goes to `Settings.load`, and gives PATH when given.
    `cassettes` are the cassettes to check (default: those in the cassettes/ folder).
    """
    checks = [python()]
    try:
        settings = Settings.load(environ)
    except SettingsError as exc:
        return [*checks, Check("settings", "fail", str(exc))]
    checks.append(
        Check(
            "settings",
            "ok",
            f"mode {settings.mode}" + (" (CI is set)" if mode_from_ci(environ) else ""),
        )
    )
    # `once` serves without a model (it replays the cassettes that exist): a warning.
    needs_model = settings.mode not in UNNEEDED
    steps: list[Callable[[], list[Check]]] = [
        lambda: upstream(settings, environ, needs_model),
        lambda: [poppler(needed=settings.mode != Mode.REPLAY)],
        lambda: files_root(settings),
        lambda: [cassette(settings)],
        lambda: every_cassette(settings, environ, cassettes),
    ]
    for step in steps:
        checks += step()
    return checks


UNNEEDED = {
    Mode.REPLAY: " (not needed in replay)",
    Mode.ONCE: " (once needs it only to record a cassette that does not exist yet)",
}


def python() -> Check:
    version = platform.python_version()
    status = "ok" if sys.version_info >= (3, 11) else "fail"
    return Check("python", status, f"Python {version} ({sys.executable}), localaik {__version__}")


def upstream(settings: Settings, environ: Mapping[str, str] | None, needed: bool) -> list[Check]:
    bad = "fail" if needed else "warn"
    unneeded = "" if needed else UNNEEDED[settings.mode]
    if settings.upstream:
        root = settings.upstream.removesuffix("/v1")
        try:
            answer = httpx.get(root + "/health", timeout=3.0, follow_redirects=False)
            ok = answer.status_code == 200
            said = f"answers /health with {answer.status_code}"
        except httpx.HTTPError as exc:
            ok, said = False, f"does not answer ({type(exc).__name__})"
        return [
            Check(
                "upstream",
                "ok" if ok else bad,
                f"{settings.upstream_shown} {said}{'' if ok else unneeded}",
            )
        ]
    checks = []
    try:
        located = install.locate_llama_server(environ, settings=settings)
    except install.InstallError as exc:
        located, error = None, str(exc)
    else:
        error = "not found: run `localaik runtime install` (or set LK_LLAMA_SERVER, or LK_UPSTREAM)"
    if located:
        checks.append(Check("llama-server", "ok", f"{located[0]} (from {located[1]})"))
    else:
        checks.append(Check("llama-server", bad, error + unneeded))
    checks.append(model(settings, needed, settings.cache_dir))
    if settings.embeddings != Embeddings.OFF and settings.embed_model not in (None, settings.model):
        checks.append(
            model(
                settings, needed, settings.cache_dir, label="embeddings", name=settings.embed_model
            )
        )
    return checks


def model(
    settings: Settings, needed: bool, cache: Path, *, label: str = "model", name: str | None = None
) -> Check:
    bad = "fail" if needed else "warn"
    unneeded = "" if needed else UNNEEDED[settings.mode]
    name = name or settings.model or models.DEFAULT
    vision = (
        ""
        if label != "model"
        else (
            f"; vision projector {settings.mmproj}"
            if settings.mmproj
            else "; no vision projector (images get a 400; LK_MMPROJ adds one)"
        )
    )
    entry = models.CATALOGUE.get(name)
    if entry is None:
        path = Path(name).expanduser()
        if path.is_file():
            return Check(label, "ok", f"{path}{vision}")
        return Check(label, bad, f"{name}: no such file{unneeded}")
    path = install.model_path(entry, cache)
    if not path.is_file():
        return Check(
            label,
            bad,
            f"{name} is not installed: run `localaik runtime install --model {name}`{unneeded}",
        )
    if install.sha256_file(path) != entry.sha256:
        return Check(
            label,
            bad,
            f"{path}: sha256 mismatch: run `localaik runtime install "
            f"--model {name} --force`{unneeded}",
        )
    return Check(label, "ok", f"{name}: {path} (sha256 verified){vision}")


def poppler(needed: bool) -> Check:
    missing = [tool for tool in ("pdfinfo", "pdftoppm") if shutil.which(tool) is None]
    unneeded = "" if needed else " (replay needs no poppler)"
    if missing:
        return Check(
            "poppler",
            "warn",
            f"{' and '.join(missing)} not found: PDF input gets a "
            f"400; install poppler-utils and fonts-liberation{unneeded}",
        )
    version = (
        subprocess.run(["pdftoppm", "-v"], capture_output=True, text=True, timeout=10)
        .stderr.strip()
        .splitlines()
    )
    problem = pdf.probe()
    if problem:
        return Check("poppler", "warn", f"{problem}{unneeded}")
    return Check(
        "poppler", "ok", f"{version[0] if version else 'pdftoppm'}; standard PDF fonts render"
    )


def files_root(settings: Settings) -> list[Check]:
    root = settings.files_root
    if root is None:
        return [Check("files root", "ok", "LK_FILES_ROOT unset: local file references are refused")]
    if not root.is_dir() or not os.access(root, os.R_OK | os.X_OK):
        return [Check("files root", "fail", f"LK_FILES_ROOT={root} is not a readable folder")]
    return [Check("files root", "ok", f"{root}: fileData may read files below it")]


def cassette(settings: Settings) -> Check:
    path = settings.cassette
    if settings.mode == Mode.REPLAY:
        if not path.is_file():
            return Check(
                "cassette", "warn", f"{path} does not exist: every request will be a replay miss"
            )
        if not os.access(path, os.R_OK):
            return Check("cassette", "fail", f"{path} cannot be read")
        return Check("cassette", "ok", f"{path} ({_count(path)}), opened read-only")
    folder = path.parent
    existing = next((p for p in (folder, *folder.parents) if p.exists()), Path("."))
    if path.exists() and not os.access(path, os.W_OK):
        return Check("cassette", "fail", f"{path} cannot be written (mode {settings.mode})")
    if not os.access(existing, os.W_OK):
        return Check(
            "cassette",
            "fail",
            f"{existing} cannot be written, so {path} cannot be created (mode {settings.mode})",
        )
    if not path.exists():
        return Check("cassette", "ok", f"{path} will be created at the first recording")
    return Check("cassette", "ok", f"{path} ({_count(path)})")


def every_cassette(
    settings: Settings, environ: Mapping[str, str] | None, given: Sequence[Path] | None
) -> list[Check]:
    """Each cassette given, else each in the default folder, opened read-only and counted; one
    line for all of them, failing when any cannot be read."""
    from localaik.cassette import locate

    where = ""
    if given is None:
        if cassette_configured(environ):
            return []  # the `cassette` check is about that one
        folder = locate.default_location(settings.cassette, configured=False)
        if not folder.is_dir():
            return [
                Check(
                    "cassettes",
                    "ok",
                    f"{folder}/ does not exist yet: serve and the pytest plugin make it at "
                    "their first recording",
                )
            ]
        try:
            given = locate.expand([str(folder)])
        except locate.NothingFound:
            return [Check("cassettes", "ok", f"no cassettes in {folder}/ yet")]
        where = f"{folder}/: "
    counts = {path: _recordings(path) for path in given}
    bad = {path: text for path, text in counts.items() if isinstance(text, str)}
    total = sum(n for n in counts.values() if isinstance(n, int))
    found = f"{where}{_plural(len(counts), 'cassette')}, {_plural(total, 'recording')}"
    if not bad:
        return [Check("cassettes", "ok", found)]
    shown = "; ".join(f"{path} ({text})" for path, text in list(bad.items())[:3])
    more = "; …" if len(bad) > 3 else ""
    return [
        Check(
            "cassettes",
            "fail",
            f"{found}; {len(bad)} cannot be read as cassettes: {shown}{more}",
        )
    ]


def _recordings(path: Path) -> int | str:
    """How many recordings the cassette at `path` holds, or why it cannot be read."""
    from localaik.cassette.store import store_for

    store = store_for(path, readonly=True)
    try:
        if not store.open():
            return "does not exist"
        return len(store.summaries())
    except Error as exc:  # not a cassette, or damaged: say so, the other checks still run
        return exc.message
    finally:
        store.close()


def _count(path: Path) -> str:
    found = _recordings(path)
    if isinstance(found, str):
        return f"cannot be read as a cassette: {found}"
    return _plural(found, "recording")


def _plural(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
