"""The reliability tests use the app-test fixtures too: the in-process fake and app factory."""

from tests.app.conftest import fake, localaik, make_localaik  # noqa: F401
