"""pytest-xdist and the bundled model: what the plugin's hooks call so that the workers share one
llama-server, run by the controller (`runtime_host` says how, and why).

Imports nothing heavy: the host's module is imported when the controller makes a host, and by a
worker when its server starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from localaik.config import Mode, Settings, SettingsError

if TYPE_CHECKING:
    from localaik.testing.runtime_host import Offer, RuntimeHost

OFFER = "localaik_runtime"  # workerinput: the shared runtime (`Offer.to_wire`)
PER_WORKER = "localaik_runtime_per_worker"

_HOST = pytest.StashKey["RuntimeHost | None"]()


def add_options(group: Any, parser: pytest.Parser) -> None:
    group.addoption(
        "--localaik-runtime-per-worker",
        action="store_true",
        default=None,
        help="under pytest-xdist, start a bundled llama-server in each worker instead of one "
        "for the session (more memory; answers in parallel) [ini localaik_runtime_per_worker]",
    )
    parser.addini(
        PER_WORKER,
        "under pytest-xdist, one bundled llama-server per worker",
        type="bool",
        default=False,
    )


def offer(node: Any, mode: Mode | None) -> None:
    """In the controller, for each worker it starts: the shared runtime, in its `workerinput`.
    The host is made for the first worker, if the session may record with the bundled model;
    it starts nothing until a worker asks."""
    config: pytest.Config = node.config
    if _HOST not in config.stash:
        config.stash[_HOST] = _host(config, mode)
    host = config.stash[_HOST]
    if host is not None:
        node.workerinput[OFFER] = host.offer.to_wire()


def offered(config: pytest.Config) -> Offer | None:
    """In a worker: the shared runtime the controller offered, if any."""
    wire = getattr(config, "workerinput", {}).get(OFFER)
    if wire is None:
        return None
    from localaik.testing.runtime_host import Offer

    return Offer.from_wire(wire)


def close(config: pytest.Config) -> None:
    """In the controller, once the workers are down: stop the shared llama-servers."""
    host = config.stash.get(_HOST, None)
    if host is not None:
        config.stash[_HOST] = None
        host.close()


def _host(config: pytest.Config, mode: Mode | None) -> RuntimeHost | None:
    per_worker = config.getoption(PER_WORKER)
    if per_worker if per_worker is not None else config.getini(PER_WORKER):
        return None
    try:
        settings = Settings.load(mode=mode, host="127.0.0.1", port=0)
    except SettingsError:
        return None  # each worker's server says what is wrong
    from localaik.runtime.bundled import needs_bundled

    if not needs_bundled(settings):
        return None
    from localaik.testing.runtime_host import RuntimeHost

    return RuntimeHost(settings)
