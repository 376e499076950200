"""Normalisation: the run's own values go, everything a client could notice stays."""

from __future__ import annotations

import base64
import json
import re

from maas_fidelity.exchange import Observation
from maas_fidelity.normalise import Normaliser, issued_token, token_shape
from maas_fidelity.redaction import redact


def _jwt(header: dict, claims: dict) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(claims)}.c2lnbmF0dXJl"


def test_uids_times_tokens_and_keys_are_replaced() -> None:
    n = Normaliser()
    value = {
        "uid": "0b7e5d4c-1111-2222-3333-444455556666",
        "creationTimestamp": "2026-12-02T08:35:49Z",
        "message": "UID (0b7e5d4c-1111-2222-3333-444455556666) at 2026-12-02T08:35:49.123Z",
        "token": _jwt({"alg": "RS256"}, {"sub": "x"}),
        "opaque": "sha256~abcDEF123",
        "n": "modulus",
        "kid": "A" * 43,
        "managedFields": [{"manager": "python-httpx"}],
        "exp": 1796203799,
        "exp-iat": 3600,
    }
    assert n.value(value) == {
        "uid": "<uuid>",
        "creationTimestamp": "<time>",
        "message": "UID (<uuid>) at <time>",
        "token": "<jwt>",
        "opaque": "<opaque-token>",
        "n": "<rsa-modulus>",
        "kid": "<key-id>",
        "managedFields": "<managed-fields>",
        "exp": "<unix-time>",
        "exp-iat": 3600,
    }


def test_what_a_client_sees_is_kept() -> None:
    n = Normaliser()
    value = {"kid": "short", "code": 400, "audiences": ["a"], "created": "not a number"}
    assert n.value(value) == value


def test_replacements_and_patterns_take_the_sides_own_names_out() -> None:
    run = "fidelity-abc123"
    n = Normaliser(
        {"http://127.0.0.1:4321": "<gateway>", run: "<run>"},
        [(re.compile(re.escape(run) + r"-([a-z]+)-[0-9a-f]{8}\b"), r"<run>-\1-<hash>")],
    )
    text = f"http://127.0.0.1:4321/llm {run}-user-1a2b3c4d and {run}"
    assert n.text(text) == "<gateway>/llm <run>-user-<hash> and <run>"


def test_the_claims_of_an_issued_token_are_an_aspect_of_their_own() -> None:
    token = _jwt({"alg": "RS256", "kid": "k" * 43}, {"aud": ["a"], "iat": 100, "exp": 3700})
    aspects = Normaliser().observation(Observation(201, "application/json", {"token": token}))
    assert aspects["body"] == {"token": "<jwt>"}
    assert aspects["claims"] == {
        "header": {"alg": "RS256", "kid": "<key-id>"},
        "claims": {"aud": ["a"], "iat": "<unix-time>", "exp": "<unix-time>"},
        "exp-iat": 3600,
    }


def test_a_reviewed_token_is_not_an_issued_one() -> None:
    token = _jwt({"alg": "RS256"}, {"sub": "x"})
    assert issued_token({"spec": {"token": token}, "status": {}}) is None
    assert issued_token({"status": {"token": token}}) == token
    assert issued_token({"token": "not a jwt"}) is None


def test_token_shape_survives_a_token_that_is_not_json() -> None:
    shape = token_shape("eyJ!.eyJ!.sig")
    assert shape["claims"] == "<not base64url JSON>"
    assert "exp-iat" not in shape


def test_redaction_masks_every_kind_of_credential() -> None:
    jwt = _jwt({"alg": "RS256"}, {"sub": "x"})
    text = redact(f"a {jwt} b sha256~secretvalue c Authorization: Bearer plainsecret123")
    assert jwt not in text
    assert "secretvalue" not in text
    assert "plainsecret123" not in text
    assert redact(jwt) == redact(jwt), "the same token masks the same way"
