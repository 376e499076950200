"""No credential survives redaction, and masked tokens can still be told apart."""

from __future__ import annotations

import json

import pytest

from maas_e2e.redaction import mask_secret, redact_headers, redact_json, redact_text

JWT = (
    "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0"
    ".eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6bnM6YWxpY2UifQ"
    ".c2lnbmF0dXJlLWJ5dGVzLW5vdC1yZWFsbHktYS1zaWduYXR1cmU"
)
OTHER_JWT = JWT[:-4] + "AAAA"
SIGNATURE = JWT.rsplit(".", 1)[1]
PAYLOAD = JWT.split(".")[1]
OPENSHIFT = "sha256~Xk3q9v_2hT0p-LmN8rQwErTyUiOpAsDfGhJkLzXcVbN"
OPAQUE = "s3cr3t-opaque-value-42"


@pytest.mark.parametrize(
    ("name", "value", "secret", "kept"),
    [
        ("Authorization", f"Bearer {JWT}", PAYLOAD, "Bearer eyJhbGci…"),
        ("authorization", f"Bearer {OPENSHIFT}", OPENSHIFT[7:], "Bearer sha256~…"),
        ("Authorization", f"Basic {OPAQUE}", OPAQUE, "Basic [redacted"),
        ("Authorization", OPAQUE, OPAQUE, "[redacted"),
        ("Proxy-Authorization", f"Bearer {OPAQUE}", OPAQUE, "Bearer [redacted"),
        ("Cookie", f"session={OPAQUE}", OPAQUE, "[redacted"),
        ("X-Forwarded-Token", JWT, SIGNATURE, "eyJhbGci…"),
    ],
)
def test_header_secrets_are_masked(name: str, value: str, secret: str, kept: str) -> None:
    [(out_name, out_value)] = redact_headers({name: value})
    assert secret not in out_value, f"{secret!r} leaked in {out_value!r}"
    assert out_name == name
    assert out_value.startswith(kept), f"{out_value!r} should start with {kept!r}"


def test_other_headers_are_untouched() -> None:
    headers = [("content-type", "application/json"),
               ("www-authenticate", 'Bearer realm="service-accounts"')]  # fmt: skip
    assert redact_headers(headers) == headers


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"token is {JWT} ok", PAYLOAD),
        (f"curl -H 'Authorization: Bearer {OPAQUE}' http://x", OPAQUE),
        (f"oc whoami -t -> {OPENSHIFT}", OPENSHIFT[7:]),
        (json.dumps({"token": OPAQUE, "expiration": "4h"}), OPAQUE),
        (json.dumps({"token": JWT, "expiresAt": 1}), SIGNATURE),
        ('{"access_token" : "' + OPAQUE + '"}', OPAQUE),
        ('{"token": "' + OPAQUE, OPAQUE),  # body cut mid-value
        (f"cut short: {JWT[:90]}", PAYLOAD[:40]),  # header and part of the payload
        (json.dumps({"headers": {"Authorization": f"Bearer {OPAQUE}"}}), OPAQUE),
    ],
    ids=["free-jwt", "bearer-in-text", "openshift", "json-token", "json-jwt", "json-spaced",
         "json-cut", "jwt-cut", "json-authorization"],
)  # fmt: skip
def test_text_secrets_are_masked(text: str, secret: str) -> None:
    redacted = redact_text(text)
    assert secret not in redacted, f"{secret!r} leaked in {redacted!r}"
    assert "[redacted" in redacted, redacted


@pytest.mark.parametrize(
    "text",
    [
        '{"usage": {"total_tokens": 57, "prompt_tokens": 7}, "max_tokens": 10}',
        'WWW-Authenticate: Bearer realm="service-accounts"',
        '{"token_type": "Bearer", "expiration": "4h0m0s"}',
        "a plain sentence about sha256 and eyJ without tokens",
    ],
)
def test_text_without_secrets_is_unchanged(text: str) -> None:
    assert redact_text(text) == text


def test_redaction_is_idempotent() -> None:
    text = json.dumps({"token": JWT, "other": f"Bearer {OPENSHIFT}", "x": f"Bearer {OPAQUE}"})
    once = redact_text(text)
    assert redact_text(once) == once


def test_same_token_same_mask_other_token_other_mask() -> None:
    assert mask_secret(JWT) == mask_secret(JWT)
    assert mask_secret(JWT) != mask_secret(OTHER_JWT)


@pytest.mark.parametrize(
    ("secret", "prefix"),
    [(JWT, "eyJhbGci…[redacted jwt sha256:"),
     (OPENSHIFT, "sha256~…[redacted openshift-token sha256:"),
     (OPAQUE, "[redacted 22 chars sha256:")],
)  # fmt: skip
def test_mask_names_the_kind_and_keeps_a_hash(secret: str, prefix: str) -> None:
    masked = mask_secret(secret)
    assert masked.startswith(prefix), masked
    assert len(masked.rsplit("sha256:", 1)[1].rstrip("]")) == 8, masked


def test_json_values_are_masked_recursively() -> None:
    body = {"token": OPAQUE, "nested": [{"password": OPAQUE}, f"see {JWT}"], "n": 5}
    redacted = redact_json(body)
    dumped = json.dumps(redacted, ensure_ascii=False)
    assert OPAQUE not in dumped, dumped
    assert SIGNATURE not in dumped, dumped
    assert redacted["n"] == 5
    assert body["token"] == OPAQUE, "the input must not be modified"
