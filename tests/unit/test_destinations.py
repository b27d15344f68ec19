"""The destination policy's rules, without the network: defaults, precedence, notations."""

from __future__ import annotations

import ipaddress

import pytest

from mcp_orch_app.config import ConfigError
from mcp_orch_app.security.destinations import DestinationPolicy, DestinationRefused


def policy(allow: str = "", deny: str = "") -> DestinationPolicy:
    return DestinationPolicy.from_entries(allow.split(","), deny.split(","))


def refusal(p: DestinationPolicy, address: str) -> str | None:
    return p.refusal_for_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",
        "169.254.0.1",
        "fe80::1",
        "100.100.100.200",
        "fd00:ec2::254",
        "::ffff:169.254.169.254",
    ],
)
def test_link_local_and_metadata_addresses_are_denied_by_default(address):
    assert "denied by default" in refusal(policy(), address)


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "::1", "10.0.0.1", "172.16.5.4", "192.168.0.10", "8.8.8.8"]
)
def test_loopback_private_and_public_addresses_are_allowed_by_default(address):
    assert refusal(policy(), address) is None


def test_an_explicit_deny_wins_over_an_allow_entry():
    p = policy(allow="10.0.0.0/8", deny="10.9.0.0/16")
    assert refusal(p, "10.1.0.1") is None
    assert "MCP_ORCH_UPSTREAM_DENY" in refusal(p, "10.9.0.1")


def test_an_allow_list_refuses_everything_else_and_can_lift_a_default():
    p = policy(allow="169.254.10.0/24,192.168.0.0/16")
    assert refusal(p, "169.254.10.7") is None
    assert "not in MCP_ORCH_UPSTREAM_ALLOW" in refusal(p, "169.254.169.254")
    assert "not in MCP_ORCH_UPSTREAM_ALLOW" in refusal(p, "127.0.0.1")


def test_host_name_entries_match_the_name_or_every_name_under_a_wildcard():
    p = policy(deny="*.corp.example,exact.example")
    assert p.refusal_for_name("a.b.CORP.example.") is not None
    assert p.refusal_for_name("corp.example") is None
    assert p.refusal_for_name("exact.example") is not None
    assert p.refusal_for_name("sub.exact.example") is None
    assert p.refusal_for_name("metadata.google.internal") is not None  # a default


def test_a_name_on_the_allow_list_admits_its_addresses_but_not_past_a_deny():
    p = policy(allow="mcp.internal", deny="10.66.0.0/16")
    p.check_resolved("mcp.internal", [ipaddress.ip_address("10.1.1.1")])
    with pytest.raises(DestinationRefused, match=r"resolves to 10\.66\.0\.9"):
        p.check_resolved("mcp.internal", [ipaddress.ip_address("10.66.0.9")])
    with pytest.raises(DestinationRefused, match="not in MCP_ORCH_UPSTREAM_ALLOW"):
        p.check_resolved("other.internal", [ipaddress.ip_address("10.1.1.1")])


def test_every_resolved_address_is_checked():
    addresses = [ipaddress.ip_address(a) for a in ("10.0.0.1", "169.254.169.254")]
    with pytest.raises(DestinationRefused, match=r"169\.254\.169\.254"):
        policy().check_resolved("two-faced.example", addresses)


@pytest.mark.parametrize("entry", ["not a host", "http://x", "a..b", "*.", "-bad-.example"])
def test_an_unusable_entry_is_a_config_error_naming_it(entry):
    with pytest.raises(ConfigError, match="MCP_ORCH_UPSTREAM_DENY"):
        policy(deny=entry)
