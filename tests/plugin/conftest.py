"""The plugin's tests run inner pytest sessions with `pytester`.

`pytest_plugins = ["pytester"]` is refused in a conftest below the top level, so the plugin is
loaded when this conftest is: its `pytester` fixture then exists for every test, as with `-p`.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")
