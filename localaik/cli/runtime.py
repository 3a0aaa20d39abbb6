"""`localaik runtime …`: install, inspect and locate the bundled llama-server and models."""

from __future__ import annotations

import json
import sys
import time

import click

from localaik.config import Settings, SettingsError
from localaik.runtime import catalogue as models
from localaik.runtime import install
from localaik.runtime.progress import Report


def _say(line: str) -> None:
    click.echo(line, err=True)


def _settings() -> Settings:
    try:
        return Settings.load()
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from None


@click.group()
def runtime() -> None:
    """The bundled runtime: a llama-server built from pinned sources, and small models.

    Everything is kept in LK_CACHE_DIR (default ~/.cache/localaik).
    """


@runtime.command("install")
@click.option(
    "--model",
    "model_name",
    default=models.DEFAULT,
    show_default=True,
    type=click.Choice(models.names()),
    help="The catalogue model to fetch.",
)
@click.option("--no-build", is_flag=True, help="Fetch the model only; do not build llama-server.")
@click.option("--force", is_flag=True, help="Build and fetch again even if the cache is valid.")
def install_command(model_name: str, no_build: bool, force: bool) -> None:
    """Build llama-server (once; see the README for how long) and fetch a model, into the cache.

    An interrupted build resumes where it stopped; a second install waits for the first.
    """
    started = time.monotonic()
    settings = _settings()
    cache = settings.cache_dir
    building = not no_build and (force or install.verified_build(cache) is None)
    fetching = force or not install.model_present(models.CATALOGUE[model_name], cache)
    report = Report(
        _say,
        steps=3 * building + fetching + 1,
        live=sys.stderr.isatty(),
        write=lambda text: click.echo(text, err=True, nl=False),
    )
    try:
        binary = None
        if not no_build:
            binary = install.build_llama_server(progress=report, force=force, cache=cache)
            if not building:
                report.line(f"llama-server: {binary} (cached build, verified)")
            located = install.locate_llama_server(settings=settings)
            if located and located[1] != "cache":
                report.line(f"note: serve will use {located[0]} (from {located[1]}) instead")
        files = install.ensure_model(model_name, progress=report, force=force, cache=cache)
        report.step("verifying")
        if binary is not None:
            report.line(f"llama-server: {install.check_build(cache)}")
        report.line(f"model {files.name}: {files.gguf} (sha256 verified)")
    except install.InstallError as exc:
        report.end()
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        report.end()
        raise click.ClickException(f"interrupted; {install.RESUME_HINT}") from None
    report.line(f"done in {time.monotonic() - started:.1f} s")


@runtime.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def status_command(as_json: bool) -> None:
    """Show what is cached: the llama-server build and the models, each verified."""
    state = install.status(settings=_settings())
    if as_json:
        click.echo(json.dumps(state, indent=2))
        return
    click.echo(f"cache: {state['cache_dir']}")
    server = state["llama_server"]
    info = server["build_info"] or {}
    if server["verified"]:
        click.echo(
            f"llama-server: {server['path']} (verified; llama.cpp {info['llama_cpp_commit']}"
            f", {info['flagset']}, built in {info['build_seconds']:.0f} s)"
        )
    elif server["present"]:
        click.echo(
            f"llama-server: {server['path']} (NOT verified: rebuild with "
            f"`localaik runtime install --force`)"
        )
    else:
        click.echo("llama-server: not built (run `localaik runtime install`)")
    if server["unfinished_build"]:
        click.echo(
            f"unfinished build: {server['unfinished_build']} (under way, or interrupted: "
            f"`localaik runtime install` builds on in it)"
        )
    serve = state["serve_uses"]
    if serve.get("error"):
        click.echo(f"serve would use: error: {serve['error']}")
    elif serve["path"]:
        click.echo(f"serve would use: {serve['path']} (from {serve['source']})")
    else:
        click.echo("serve would use: nothing found")
    for model in state["models"]:
        label = f"model {model['name']}" + (" (default)" if model["default"] else "")
        if model["verified"]:
            click.echo(f"{label}: {model['path']} (verified, {model['size'] / 1e6:.1f} MB)")
        elif model["present"]:
            click.echo(
                f"{label}: {model['path']} (sha256 MISMATCH: fetch again with "
                f"`localaik runtime install --model {model['name']} --force`)"
            )
        else:
            click.echo(f"{label}: not installed")


@runtime.command("path")
def path_command() -> None:
    """Print the llama-server that `serve` would run (LK_LLAMA_SERVER, PATH, then the cache)."""
    try:
        found = install.find_llama_server(settings=_settings())
    except install.InstallError as exc:
        raise click.ClickException(str(exc)) from None
    if found is None:
        raise click.ClickException(
            "no llama-server found: run `localaik runtime install`, put llama-server on PATH "
            "or set LK_LLAMA_SERVER"
        )
    click.echo(str(found))
