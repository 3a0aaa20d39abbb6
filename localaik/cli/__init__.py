"""The `localaik` command: one click group, its commands each in a module of this package.

serve.py      serve
doctor.py     doctor
runtime.py    runtime install | status | path
cassette*.py  cassette ls | show | diff | export | import | prune | verify | merge | …
"""

from __future__ import annotations

import click

from localaik import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="localaik")
def cli() -> None:
    """localaik: the Gemini, OpenAI and Anthropic APIs on one local port.

    Point an official SDK's base URL at it. Answers are recorded from a local llama.cpp
    server (the upstream) into a SQLite cassette and replayed from it, byte for byte.
    """


def _register() -> None:
    from localaik.cli.cassette import cassette
    from localaik.cli.doctor import doctor
    from localaik.cli.runtime import runtime
    from localaik.cli.serve import serve

    for command in (serve, doctor, runtime, cassette):
        cli.add_command(command)


_register()


def main() -> None:
    cli(prog_name="localaik")
