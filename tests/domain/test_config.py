"""Settings from CHATSERVER_* environment variables, with flags (overrides) on top."""

from __future__ import annotations

import pytest

from chatserver.config import Limit, Settings, SettingsError, parse_origins


def test_defaults_match_the_contract() -> None:
    settings = Settings.from_env({})

    assert settings.database_url == "sqlite:///./chatserver.db"
    assert settings.bus_url == "memory://"
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.allowed_origins is None
    assert settings.visitor_message_limit == Limit(20, 10.0)
    assert settings.visitor_session_limit == Limit(30, 60.0)
    assert settings.grace_seconds == 60.0
    assert settings.hello_timeout == 10.0
    assert settings.header_timeout == 10.0
    assert settings.max_text_chars == 4000
    assert settings.max_frame_bytes == 64 * 1024
    assert settings.identity_secret is None


def test_every_documented_variable_is_read() -> None:
    settings = Settings.from_env({
        "CHATSERVER_DATABASE_URL": "sqlite:////var/lib/chat.db",
        "CHATSERVER_BUS_URL": "redis://localhost:6379/0",
        "CHATSERVER_HOST": "0.0.0.0",
        "CHATSERVER_PORT": "9000",
        "CHATSERVER_ALLOWED_ORIGINS": "https://shop.example",
        "CHATSERVER_SECRET_KEY": "k",
        "CHATSERVER_IDENTITY_SECRET": "i",
        "CHATSERVER_WEBHOOK_SECRET": "w",
        "CHATSERVER_SMTP_URL": "smtp://mail.example:25",
        "CHATSERVER_VISITOR_MESSAGE_LIMIT": "5/1",
        "CHATSERVER_VISITOR_SESSION_LIMIT": "100/3600",
        "CHATSERVER_GRACE_SECONDS": "30",
        "CHATSERVER_HELLO_TIMEOUT": "2.5",
    })

    assert settings == Settings(
        database_url="sqlite:////var/lib/chat.db", bus_url="redis://localhost:6379/0",
        host="0.0.0.0", port=9000, allowed_origins=("https://shop.example",),
        secret_key="k", identity_secret="i", webhook_secret="w",
        smtp_url="smtp://mail.example:25", visitor_message_limit=Limit(5, 1.0),
        visitor_session_limit=Limit(100, 3600.0), grace_seconds=30.0, hello_timeout=2.5)


def test_process_environment_is_read_when_none_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATSERVER_PORT", "8123")

    assert Settings.from_env().port == 8123


def test_variables_without_the_prefix_are_ignored() -> None:
    assert Settings.from_env({"PORT": "1234", "HOST": "0.0.0.0"}).port == 8000


def test_empty_secret_means_unset() -> None:
    assert Settings.from_env({"CHATSERVER_IDENTITY_SECRET": ""}).identity_secret is None


@pytest.mark.parametrize("port", ["eighty", "", "80.5", "8000x"])
def test_port_that_is_not_a_whole_number_is_a_settings_error(port: str) -> None:
    with pytest.raises(SettingsError, match="CHATSERVER_PORT"):
        Settings.from_env({"CHATSERVER_PORT": port})


@pytest.mark.parametrize("port", ["65536", "70000", "-1"])
def test_port_outside_the_tcp_range_is_a_settings_error(port: str) -> None:
    with pytest.raises(SettingsError, match="CHATSERVER_PORT"):
        Settings.from_env({"CHATSERVER_PORT": port})


@pytest.mark.parametrize("name", ["GRACE_SECONDS", "HELLO_TIMEOUT"])
def test_duration_that_is_not_a_number_is_a_settings_error(name: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({f"CHATSERVER_{name}": "a minute"})


@pytest.mark.parametrize("value", ["nan", "-1"])
@pytest.mark.parametrize("name", ["GRACE_SECONDS", "HELLO_TIMEOUT"])
def test_duration_that_cannot_be_waited_is_a_settings_error(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({f"CHATSERVER_{name}": value})


# --- limits -------------------------------------------------------------------------------

@pytest.mark.parametrize("text, count, seconds", [
    ("20/10", 20, 10.0),
    ("30/60", 30, 60.0),
    ("1/0.5", 1, 0.5),
    (" 5/1 ", 5, 1.0),
])
def test_limit_is_count_per_seconds(text: str, count: int, seconds: float) -> None:
    limit = Limit.parse(text)

    assert (limit.count, limit.seconds, limit.off) == (count, seconds, False)


@pytest.mark.parametrize("text", ["0", " 0 ", "0/10"])
def test_limit_of_zero_is_off(text: str) -> None:
    assert Limit.parse(text).off


@pytest.mark.parametrize("text", [
    "", "20", "20/", "/10", "20/0", "20/-5", "-1/10", "twenty/10", "20/ten", "1.5/10",
    "20/10/5", "20:10", "off",
])
def test_malformed_limit_is_a_settings_error(text: str) -> None:
    with pytest.raises(SettingsError):
        Limit.parse(text)


def test_limit_with_a_window_of_nan_seconds_is_a_settings_error() -> None:
    with pytest.raises(SettingsError):
        Limit.parse("20/nan")


@pytest.mark.parametrize("name", ["VISITOR_MESSAGE_LIMIT", "VISITOR_SESSION_LIMIT"])
def test_limits_come_from_the_environment(name: str) -> None:
    settings = Settings.from_env({f"CHATSERVER_{name}": "3/7"})

    assert getattr(settings, name.lower()) == Limit(3, 7.0)


def test_limit_set_to_zero_in_the_environment_is_off() -> None:
    assert Settings.from_env({"CHATSERVER_VISITOR_MESSAGE_LIMIT": "0"}).visitor_message_limit.off


def test_bad_limit_in_the_environment_is_a_settings_error() -> None:
    with pytest.raises(SettingsError):
        Settings.from_env({"CHATSERVER_VISITOR_SESSION_LIMIT": "lots"})


# --- allowed origins ------------------------------------------------------------------------

@pytest.mark.parametrize("text", [None, "", "   "])
def test_unset_origins_mean_only_the_servers_own(text: str | None) -> None:
    assert parse_origins(text) is None


def test_star_allows_any_origin() -> None:
    assert parse_origins("*") == ("*",)
    assert Settings.from_env({"CHATSERVER_ALLOWED_ORIGINS": "*"}).allowed_origins == ("*",)


def test_origins_are_a_comma_separated_list_trimmed_of_spaces_and_trailing_slashes() -> None:
    assert parse_origins("https://shop.example, https://www.shop.example/ ,,http://localhost:3000"
                         ) == ("https://shop.example", "https://www.shop.example",
                               "http://localhost:3000")


def test_empty_origins_variable_means_only_the_servers_own() -> None:
    assert Settings.from_env({"CHATSERVER_ALLOWED_ORIGINS": ""}).allowed_origins is None


# --- overrides (command-line flags) ---------------------------------------------------------

def test_overrides_beat_the_environment() -> None:
    env = {"CHATSERVER_PORT": "9000", "CHATSERVER_DATABASE_URL": "sqlite:///env.db"}

    settings = Settings.from_env(env, port=7000, database_url="sqlite:///flag.db")

    assert (settings.port, settings.database_url) == (7000, "sqlite:///flag.db")


def test_flag_not_given_leaves_the_environment_value() -> None:
    env = {"CHATSERVER_PORT": "9000", "CHATSERVER_HOST": "0.0.0.0"}

    settings = Settings.from_env(env, port=None, host=None)

    assert (settings.host, settings.port) == ("0.0.0.0", 9000)


def test_overrides_apply_on_top_of_defaults() -> None:
    settings = Settings.from_env({}, grace_seconds=5.0)

    assert settings.grace_seconds == 5.0
    assert settings.port == 8000


def test_settings_are_frozen_and_changed_by_copy() -> None:
    settings = Settings.from_env({})
    changed = settings.with_(port=1234)

    with pytest.raises(AttributeError):
        settings.port = 1234  # type: ignore[misc]
    assert (settings.port, changed.port) == (8000, 1234)
