"""localaik.config: Settings.load from the environment and flags, validation, redact_url."""

from __future__ import annotations

from pathlib import Path

import pytest

from localaik.config import Settings, SettingsError, mode_from_ci, parse_size, redact_url


def test_defaults() -> None:
    settings = Settings.load({})

    assert settings == Settings()
    assert settings.host == "127.0.0.1"
    assert settings.port == 8090
    assert settings.upstream is None  # unset: the bundled llama-server
    assert settings.upstream_auth_header is None
    assert settings.upstream_model == "localaik"
    assert settings.upstream_timeout == 300.0
    assert settings.max_body_size == 32 * 1024 * 1024
    assert settings.files_root is None
    assert settings.pdf_max_pages == 20
    assert settings.pdf_dpi == 100
    assert settings.log is True


def test_environment(tmp_path: Path) -> None:
    settings = Settings.load(
        {
            "LK_HOST": "0.0.0.0",
            "LK_PORT": "9000",
            "LK_UPSTREAM": "https://llm.example:8443/v1/",
            "LK_UPSTREAM_AUTH_HEADER": "Authorization: Bearer abc",
            "LK_UPSTREAM_MODEL": "gemma",
            "LK_UPSTREAM_TIMEOUT": "2.5",
            "LK_MAX_BODY_SIZE": "1k",
            "LK_FILES_ROOT": str(tmp_path),
            "LK_PDF_MAX_PAGES": "3",
            "LK_PDF_DPI": "72",
            "LK_LOG": "off",
            "UNRELATED": "x",
        }
    )

    assert settings == Settings(
        host="0.0.0.0",
        port=9000,
        upstream="https://llm.example:8443/v1",
        upstream_auth_header=("Authorization", "Bearer abc"),
        upstream_model="gemma",
        upstream_timeout=2.5,
        max_body_size=1024,
        files_root=tmp_path.resolve(),
        pdf_max_pages=3,
        pdf_dpi=72,
        log=False,
    )


def test_environment_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LK_UPSTREAM_MODEL", "from-os-environ")
    assert Settings.load().upstream_model == "from-os-environ"


def test_flags_win_over_environment() -> None:
    environ = {"LK_PORT": "9000", "LK_UPSTREAM": "http://env:1/v1", "LK_LOG": "on"}

    settings = Settings.load(environ, port=9100, upstream="http://flag:2/v1", log=False)

    assert (settings.port, settings.upstream, settings.log) == (9100, "http://flag:2/v1", False)


def test_host_from_environment_and_flag() -> None:
    assert Settings.load({"LK_HOST": "0.0.0.0"}).host == "0.0.0.0"
    assert Settings.load({"LK_HOST": "0.0.0.0"}, host="10.0.0.1").host == "10.0.0.1"


def test_upstream_model_from_environment() -> None:
    assert Settings.load({"LK_UPSTREAM_MODEL": "gemma-3-4b"}).upstream_model == "gemma-3-4b"


def test_flags_that_are_none_do_not_override() -> None:
    settings = Settings.load({"LK_PORT": "9000"}, port=None, host=None)
    assert settings.port == 9000
    assert settings.host == "127.0.0.1"


def test_port_zero_flag() -> None:
    assert Settings.load({"LK_PORT": "9000"}, port=0).port == 0


def test_lk_port_wins_over_port() -> None:
    assert Settings.load({"LK_PORT": "9001", "PORT": "9002"}).port == 9001


def test_port_alone() -> None:
    assert Settings.load({"PORT": "9002"}).port == 9002


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("32MiB", 32 * 1024 * 1024),
        ("32m", 32 * 1024 * 1024),
        ("32 MB", 32 * 1024 * 1024),
        ("1k", 1024),
        ("512KiB", 512 * 1024),
        ("1g", 1024**3),
        ("1048576", 1048576),
        ("100b", 100),
    ],
)
def test_sizes(text: str, size: int) -> None:
    assert Settings.load({"LK_MAX_BODY_SIZE": text}).max_body_size == size
    assert parse_size(text, "X") == size


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LK_PORT", "abc"),
        ("LK_PORT", "70000"),
        ("LK_PORT", "-1"),
        ("PORT", "eighty"),
        ("LK_MAX_BODY_SIZE", "lots"),
        ("LK_MAX_BODY_SIZE", "1.5m"),
        ("LK_MAX_BODY_SIZE", "-1"),
        ("LK_MAX_BODY_SIZE", "10 tb"),
        ("LK_UPSTREAM_TIMEOUT", "soon"),
        ("LK_UPSTREAM_TIMEOUT", "0"),
        ("LK_UPSTREAM_TIMEOUT", "-3"),
        ("LK_PDF_MAX_PAGES", "0"),
        ("LK_PDF_MAX_PAGES", "many"),
        ("LK_PDF_DPI", "1.5"),
        ("LK_LOG", "maybe"),
        ("LK_UPSTREAM", "localhost:8080"),
        ("LK_UPSTREAM", "ftp://host/v1"),
        ("LK_UPSTREAM", "http://"),
        ("LK_UPSTREAM_AUTH_HEADER", "no colon here"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.load({name: value})
    assert name in str(raised.value)


def test_bad_flag_names_the_flag() -> None:
    with pytest.raises(SettingsError, match="--port"):
        Settings.load({}, port="x")
    with pytest.raises(SettingsError, match="--max-body-size"):
        Settings.load({}, max_body_size="huge")


def test_settings_error_is_a_value_error() -> None:
    assert issubclass(SettingsError, ValueError)


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1"),
        ("https://example.com/v1/", "https://example.com/v1"),
        ("  http://host/v1  ", "http://host/v1"),
    ],
)
def test_upstream_urls_accepted(text: str, url: str) -> None:
    assert Settings.load({"LK_UPSTREAM": text}).upstream == url


def test_upstream_error_does_not_show_credentials() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.load({"LK_UPSTREAM": "ftp://user:hunter2@host/v1"})
    assert "hunter2" not in str(raised.value)


def test_upstream_shown_is_redacted() -> None:
    settings = Settings.load({"LK_UPSTREAM": "http://user:hunter2@host:8080/v1?token=t#f"})
    assert settings.upstream_shown == "http://host:8080/v1"


@pytest.mark.parametrize(
    ("text", "header"),
    [
        ("Authorization: Bearer abc", ("Authorization", "Bearer abc")),
        ("X-Api-Key:k1", ("X-Api-Key", "k1")),
        ("  X-Token :  spaced value  ", ("X-Token", "spaced value")),
        ("X-Url: http://a:b@c", ("X-Url", "http://a:b@c")),
        ("", None),
        ("   ", None),
    ],
)
def test_upstream_auth_header_parsing(text: str, header: tuple[str, str] | None) -> None:
    assert Settings.load({"LK_UPSTREAM_AUTH_HEADER": text}).upstream_auth_header == header


@pytest.mark.parametrize(
    "text",
    [
        "Authorization",
        "Authorization:",
        ": value-only",
        "Bad Header: value",
        "Bad(Header): value",
        "X-Key: secret-value\r\nX-Injected: 1",
        "X-Key: secret-value\nmore",
    ],
)
def test_upstream_auth_header_refused(text: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.load({"LK_UPSTREAM_AUTH_HEADER": text})
    assert "LK_UPSTREAM_AUTH_HEADER" in str(raised.value)
    assert "secret-value" not in str(raised.value)


@pytest.mark.parametrize(
    ("text", "on"),
    [
        ("off", False),
        ("OFF", False),
        ("0", False),
        ("false", False),
        ("no", False),
        ("on", True),
        ("1", True),
        ("true", True),
        ("Yes", True),
    ],
)
def test_log_switch(text: str, on: bool) -> None:
    assert Settings.load({"LK_LOG": text}).log is on


def test_files_root_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "media").mkdir()
    monkeypatch.chdir(tmp_path)
    root = Settings.load({"LK_FILES_ROOT": "media"}).files_root
    assert root == (tmp_path / "media").resolve()
    assert root is not None and root.is_absolute()


def test_empty_files_root_means_unset() -> None:
    assert Settings.load({"LK_FILES_ROOT": ""}).files_root is None


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:pw@host:8080/v1?key=x#frag", "http://host:8080/v1"),
        ("https://token@host/v1", "https://host/v1"),
        ("http://host/v1?api_key=abc", "http://host/v1"),
        ("http://[::1]:8080/v1", "http://[::1]:8080/v1"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("not a url", "invalid"),
        ("http://host:notaport/v1", "invalid"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


# `CI` as common tools read it (std-env, ci-info): set to anything but empty, "false" or "0"
# means a CI run, whose default mode is replay (a CI run never records by accident).
CI_SPELLINGS = [
    (None, "record"),
    ("", "record"),
    ("  ", "record"),
    ("false", "record"),
    ("False", "record"),
    ("FALSE", "record"),
    ("0", "record"),
    (" 0 ", "record"),
    ("true", "replay"),
    ("True", "replay"),
    ("TRUE", "replay"),
    ("1", "replay"),
    ("yes", "replay"),
    ("woodpecker", "replay"),  # Woodpecker, Drone and others set CI to a name
    ("2", "replay"),
]


@pytest.mark.parametrize(("value", "mode"), CI_SPELLINGS)
def test_ci_decides_the_default_mode(value: str | None, mode: str) -> None:
    environ = {} if value is None else {"CI": value}

    assert Settings.load(environ).mode == mode
    assert mode_from_ci(environ) is (mode == "replay")


@pytest.mark.parametrize(("value", "_mode"), CI_SPELLINGS)
def test_lk_mode_wins_over_every_ci_spelling(value: str | None, _mode: str) -> None:
    environ = {"LK_MODE": "passthrough"} | ({} if value is None else {"CI": value})

    assert Settings.load(environ).mode == "passthrough"
    assert mode_from_ci(environ) is False


def test_ci_from_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LK_MODE", raising=False)
    monkeypatch.setenv("CI", "0")
    assert Settings.load().mode == "record"
    monkeypatch.setenv("CI", "1")
    assert Settings.load().mode == "replay"


def test_upstream_max_bytes() -> None:
    assert Settings.load({}).upstream_max_bytes == 64 * 1024 * 1024
    assert Settings.load({"LK_UPSTREAM_MAX_BYTES": "1MiB"}).upstream_max_bytes == 1024 * 1024
    assert Settings.load({"LK_UPSTREAM_MAX_BYTES": "4096"}).upstream_max_bytes == 4096


@pytest.mark.parametrize("value", ["0", "0k", "-1", "lots", "1.5MiB", ""])
def test_upstream_max_bytes_refuses_what_is_not_a_positive_size(value: str) -> None:
    with pytest.raises(SettingsError, match="LK_UPSTREAM_MAX_BYTES"):
        Settings.load({"LK_UPSTREAM_MAX_BYTES": value})
