"""Settings from CHATSERVER_* environment variables, with flags (overrides) on top."""

from __future__ import annotations

import pytest

from chatserver.config import Limit, Settings, SettingsError, bus_kind, database_kind, parse_origins


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


@pytest.mark.parametrize("text", ["-1", "1.5", "a month"])
def test_retention_is_off_by_default_and_read_in_whole_days(text: str) -> None:
    assert Settings.from_env({}).retention_days == 0
    assert Settings.from_env({"CHATSERVER_RETENTION_DAYS": "30"}).retention_days == 30
    with pytest.raises(SettingsError):
        Settings.from_env({"CHATSERVER_RETENTION_DAYS": text})


def test_every_documented_variable_is_read() -> None:
    settings = Settings.from_env({
        "CHATSERVER_DATABASE_URL": "postgresql://chat@db.internal:5432/chat",
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
        "CHATSERVER_FORWARDED_ALLOW_IPS": "10.0.0.5, 192.168.0.0/16",
    })

    assert settings == Settings(
        database_url="postgresql://chat@db.internal:5432/chat", bus_url="redis://localhost:6379/0",
        host="0.0.0.0", port=9000, allowed_origins=("https://shop.example",),
        secret_key="k", identity_secret="i", webhook_secret="w",
        smtp_url="smtp://mail.example:25", visitor_message_limit=Limit(5, 1.0),
        visitor_session_limit=Limit(100, 3600.0), grace_seconds=30.0, hello_timeout=2.5,
        forwarded_allow_ips=("10.0.0.5", "192.168.0.0/16"))


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


# --- backends: database and bus URLs --------------------------------------------------------

@pytest.mark.parametrize(("url", "kind"), [
    ("sqlite:///./chatserver.db", "sqlite"),
    ("sqlite:////var/lib/chat.db", "sqlite"),
    ("postgresql://chat:s3cret@db.internal:5432/chat", "postgresql"),
    ("postgres://chat@db.internal/chat", "postgresql"),
    ("postgresql://chat@[::1]:5433/chat?sslmode=require", "postgresql"),
    ("postgresql://chat@db.internal/chat?schema=eu&sslmode=verify-full", "postgresql"),
])
def test_database_urls_name_sqlite_or_postgresql(url: str, kind: str) -> None:
    assert database_kind(url) == kind


@pytest.mark.parametrize("url", [
    "sqlite:///", "sqlite://chat.db", "mysql://db/chat", "postgresql://db.internal",
    "postgresql://db.internal/", "postgresql://db.internal/chat/more",
    "postgresql://chat@db.internal:54x2/chat", "postgresql://chat@db.internal:99999/chat",
    "postgresql:///chat", "postgresql:///chat?host=/run/postgresql", "chat.db",
])
def test_a_database_url_naming_no_database_is_a_settings_error(url: str) -> None:
    with pytest.raises(SettingsError, match="postgresql://USER"):
        Settings.from_env({"CHATSERVER_DATABASE_URL": url})


@pytest.mark.parametrize(("url", "kind"), [
    ("memory://", "memory"),
    ("redis://localhost", "redis"),
    ("redis://redis.internal:6380/2", "redis"),
    ("redis://:s3cret@redis.internal:6379/0?prefix=shop-eu", "redis"),
    ("redis://127.0.0.1/?prefix=chat:1", "redis"),
])
def test_bus_urls_name_memory_or_redis(url: str, kind: str) -> None:
    assert bus_kind(url) == kind


@pytest.mark.parametrize("url", [
    "memory://elsewhere", "redis://", "redis://:6379/0", "redis://host:port/0",
    "redis://host/zero", "redis://host/0/1", "redis://host/0?prefix=", "redis://host/0?db=1",
    "redis://host?prefix=a&prefix=b", "redis://host?prefix=with space", "amqp://host",
])
def test_a_bus_url_naming_no_bus_is_a_settings_error(url: str) -> None:
    with pytest.raises(SettingsError, match=r"redis://HOST\[:PORT\]"):
        bus_kind(url)


def test_a_bad_url_is_shown_in_the_error_without_its_password() -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"CHATSERVER_DATABASE_URL": "postgresql://chat:s3cret@db:0x/chat"})
    assert "s3cret" not in str(refused.value) and "chat:***@db" in str(refused.value)
    with pytest.raises(SettingsError) as refused:
        bus_kind("redis://:s3cret@redis.internal/0?x=1")
    assert "s3cret" not in str(refused.value)


def test_an_empty_url_variable_means_the_default() -> None:
    settings = Settings.from_env({"CHATSERVER_DATABASE_URL": "", "CHATSERVER_BUS_URL": ""})
    assert (settings.database_url, settings.bus_url) == ("sqlite:///./chatserver.db", "memory://")


def test_postgresql_with_redis_makes_several_processes_one_server() -> None:
    settings = Settings.from_env({"CHATSERVER_BUS_URL": "redis://localhost/0?prefix=t1"},
                                 database_url="postgres://chat@localhost/chat")
    assert (settings.database_url, settings.bus_url) == (
        "postgres://chat@localhost/chat", "redis://localhost/0?prefix=t1")


def test_sqlite_with_a_bus_other_than_memory_is_refused_as_a_split_server() -> None:
    with pytest.raises(SettingsError, match="do not hear each other"):
        Settings.from_env({"CHATSERVER_BUS_URL": "redis://localhost"},
                          database_url="sqlite:///chat.db")


# --- the proxy in front ---------------------------------------------------------------------

def test_only_loopback_proxies_are_believed_by_default() -> None:
    assert Settings.from_env({}).forwarded_allow_ips == ("127.0.0.1", "::1")


@pytest.mark.parametrize(("text", "proxies"), [
    ("10.0.0.5", ("10.0.0.5",)), ("*", ("*",)), ("", ()),
    (" 10.0.0.0/8 ,fd00::1, ", ("10.0.0.0/8", "fd00::1")),
])
def test_trusted_proxies_are_addresses_or_networks(text: str, proxies: tuple[str, ...]) -> None:
    assert Settings.from_env({"CHATSERVER_FORWARDED_ALLOW_IPS": text}
                             ).forwarded_allow_ips == proxies


@pytest.mark.parametrize("text", ["nginx", "10.0.0.300", "10.0.0.0/33"])
def test_a_trusted_proxy_that_is_no_address_is_a_settings_error(text: str) -> None:
    with pytest.raises(SettingsError, match="FORWARDED_ALLOW_IPS"):
        Settings.from_env({"CHATSERVER_FORWARDED_ALLOW_IPS": text})


def test_stripes_key_turns_its_refunds_on_under_either_name() -> None:
    assert Settings.from_env({}).payment_providers == frozenset()
    both = Settings.from_env({"CHATSERVER_STRIPE_SECRET_KEY": "sk_a",
                              "CHATSERVER_STRIPE_API_KEY": "sk_b",
                              "CHATSERVER_STRIPE_WEBHOOK_SECRET": "whsec_w",
                              "CHATSERVER_STRIPE_API_BASE": "http://127.0.0.1:9"})
    assert (both.stripe_secret_key, both.stripe_webhook_secret, both.stripe_api_base) == (
        "sk_a", "whsec_w", "http://127.0.0.1:9")
    assert both.payment_providers == frozenset({"stripe"})
    assert Settings.from_env({"CHATSERVER_STRIPE_API_KEY": "sk_b"}).stripe_secret_key == "sk_b"
    assert Settings.from_env({}).stripe_api_base == "https://api.stripe.com"
