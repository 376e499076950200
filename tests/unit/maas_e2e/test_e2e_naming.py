"""The ServiceAccount naming rule of docs/contract.md#maas-api (hashes computed with sha1sum)."""

from __future__ import annotations

import re

import pytest

from maas_e2e.naming import expected_sa_name, expected_subject

DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


@pytest.mark.parametrize(
    ("username", "name"),
    [
        ("alice", "alice-522b276a"),
        ("Alice.Smith@Example.com", "alice-smith-example-com-59473b11"),
        ("system:serviceaccount:ns:name", "system-serviceaccount-ns-name-ff738b31"),
        ("--a__b--", "a-b-76404552"),
        ("\u0130x", "ix-e10882f1"),
        ("a" * 100, "a" * 54 + "-7f900025"),
        # cut at 54 leaves a trailing dash, which is trimmed
        ("a" * 53 + ".bbbb", "a" * 53 + "-d1a6152a"),
    ],
    ids=["plain", "email", "sa-username", "dashes", "dotted-capital-i", "long", "cut-at-dash"],
)
def test_sa_name_follows_the_rule(username: str, name: str) -> None:
    assert expected_sa_name(username) == name


@pytest.mark.parametrize("username", ["x", "UPPER", "a b c", "é" * 80 + "z", "9" * 70])
def test_sa_name_is_a_dns_label_of_at_most_63(username: str) -> None:
    name = expected_sa_name(username)
    assert len(name) <= 63, f"{name!r} is {len(name)} chars"
    assert DNS_LABEL.fullmatch(name), f"{name!r} is not a DNS-1123 label"


@pytest.mark.parametrize("username", ["", "@@@", "--", "é"])
def test_sa_name_of_username_without_valid_characters_is_refused(username: str) -> None:
    with pytest.raises(ValueError, match="no valid ServiceAccount name"):
        expected_sa_name(username)


def test_subject_is_tier_namespace_and_sa_name() -> None:
    actual = expected_subject("maas-default-gateway", "premium", "alice")
    assert actual == "system:serviceaccount:maas-default-gateway-tier-premium:alice-522b276a"
