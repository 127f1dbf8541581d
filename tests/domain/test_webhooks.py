"""Outgoing webhooks' rules: the Standard Webhooks signature, the retry schedule, the event
names an endpoint may take and the addresses a delivery may not go to."""

from __future__ import annotations

import base64
import random

import pytest

from chatserver.domain import webhooks
from chatserver.domain.webhooks import (
    EVENTS,
    event_names,
    forbidden_address,
    new_secret,
    pinned,
    retry_delay,
    signature,
)

DAY = 24 * 60 * 60


def test_the_signature_is_the_standard_webhooks_one() -> None:
    # the example of the Standard Webhooks reference libraries' tests
    assert signature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                     1614265330, b'{"test": 2432232314}') == \
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_secret_is_whsec_and_24_random_bytes_in_base64() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 24
    assert new_secret() != secret


def test_the_first_retry_comes_within_30_seconds_whatever_the_jitter() -> None:
    assert all((retry_delay(1, random.Random(seed)) or 99) <= 30 for seed in range(200))


def test_retries_grow_and_go_on_for_more_than_a_day_then_stop() -> None:
    lowest = random.Random()
    lowest.uniform = lambda a, b: a  # type: ignore[method-assign]
    delays = []
    attempts = 1
    while (delay := retry_delay(attempts, lowest)) is not None:
        delays.append(delay)
        attempts += 1
    assert delays == sorted(delays)
    assert sum(delays) > DAY
    assert attempts == len(webhooks.RETRY_DELAYS) + 1


def test_an_endpoint_takes_known_event_names_only() -> None:
    assert event_names(["message.created", "conversation.created"]) == (
        "conversation.created", "message.created")
    assert event_names(list(EVENTS)) == EVENTS
    for wrong in ([], ["message.sent"], "message.created", [1]):
        with pytest.raises(ValueError):
            event_names(wrong)


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1",
                                     "169.254.169.254", "::1", "fe80::1%eth0", "fc00::1",
                                     "0.0.0.0", "::ffff:127.0.0.1", "100.64.0.1"])
def test_loopback_private_and_link_local_addresses_are_forbidden(address: str) -> None:
    assert forbidden_address(["93.184.215.14", address]) == address


def test_public_addresses_are_not() -> None:
    assert forbidden_address(["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]) is None


def test_a_post_is_pinned_to_the_address_checked_under_its_name() -> None:
    assert pinned("https://hooks.example:8443/in?x=1", "93.184.215.14") == (
        "https://93.184.215.14:8443/in?x=1", "hooks.example:8443", "hooks.example")
    assert pinned("http://user:pw@hooks.example/in", "2606:2800::1") == (
        "http://user:pw@[2606:2800::1]/in", "hooks.example", None)
