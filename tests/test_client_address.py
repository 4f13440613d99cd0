"""Who is asking: the forwarded address is believed only from a trusted proxy, and limits
count an IPv6 address under its /64."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from bot import runtime
from bot.app import create_app
from bot.http.client_address import address_pseudonym, network_key
from tests.support.fake_rasa import FakeRasa


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2::1", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("not an address", "not an address"),
        ("", "unknown"),
    ],
)
def test_network_key(address: str, key: str) -> None:
    assert network_key(address) == key


def test_the_pseudonym_counts_a_network_without_revealing_it() -> None:
    one = address_pseudonym("2001:db8:1:2::1", "secret")
    assert one == address_pseudonym("2001:db8:1:2::ffff", "secret")
    assert one != address_pseudonym("2001:db8:1:3::1", "secret")
    assert one != address_pseudonym("2001:db8:1:2::1", "another secret")
    assert "2001" not in one


def start_conversation(client: TestClient, forwarded: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return client.post(
        "/api/v1/conversations", json={"language": "sv"}, headers=headers
    ).status_code


@pytest.fixture
def limited(
    fake_rasa: FakeRasa, settings_env: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    monkeypatch.setenv("RATE_LIMIT_ADDRESS_CONVERSATIONS", "2")
    monkeypatch.setenv("LOTSEN_TRUSTED_PROXIES", "127.0.0.1,10.0.0.0/8")
    runtime.reset()
    yield


def test_rotating_addresses_inside_one_ipv6_64_gains_nothing(limited: None) -> None:
    app = create_app()
    statuses = []
    for host in ("2001:db8:5:6::1", "2001:db8:5:6::2", "2001:db8:5:6:ffff::3"):
        with TestClient(app, client=(host, 50000)) as client:
            statuses.append(start_conversation(client))
    assert statuses == [201, 201, 429]
    # Another subscriber's /64 has its own count.
    with TestClient(app, client=("2001:db8:5:7::1", 50000)) as client:
        assert start_conversation(client) == 201


def test_a_forwarded_address_is_believed_only_from_a_trusted_proxy(limited: None) -> None:
    app = create_app()
    # From a trusted proxy (10.0.0.0/8 here), each resident has their own count.
    with TestClient(app, client=("10.1.2.3", 50000)) as proxy:
        assert [start_conversation(proxy, f"198.51.100.{n}") for n in (1, 1, 1)] == [201, 201, 429]
        assert start_conversation(proxy, "198.51.100.2") == 201
    # From anyone else the header is ignored: a client cannot choose a fresh address.
    with TestClient(app, client=("203.0.113.9", 50000)) as stranger:
        statuses = [start_conversation(stranger, f"198.51.100.{n}") for n in (10, 11, 12)]
    assert statuses == [201, 201, 429]
