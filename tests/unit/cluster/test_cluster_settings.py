"""The cluster target's options: TLS, the deploy deadline, and their environment variables."""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from maas_e2e.settings import DEFAULT_DEPLOY_TIMEOUT_S, Settings, SettingsError


@pytest.fixture(scope="module")
def ca_pem() -> str:
    """A self-signed CA certificate, as a test cluster's ingress CA would be."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test ingress CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _settings(values: dict | None = None, environ: dict | None = None) -> Settings:
    return Settings.from_values(values or {}, environ=environ or {})


def test_tls_is_verified_with_system_cas_by_default() -> None:
    assert _settings().tls_verify() is True


@pytest.mark.parametrize(
    ("values", "environ"),
    [
        ({"maas_insecure_skip_tls_verify": True}, {}),
        ({}, {"MAAS_INSECURE_SKIP_TLS_VERIFY": "true"}),
    ],
    ids=["option", "env"],
)
def test_insecure_opt_out_turns_verification_off(values: dict, environ: dict) -> None:
    assert _settings(values, environ).tls_verify() is False


@pytest.mark.parametrize("source", ["option", "env"])
def test_ca_bundle_becomes_the_trust_store(source: str, tmp_path: Path, ca_pem: str) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text(ca_pem)
    values = {"maas_ca_bundle": str(bundle)} if source == "option" else {}
    environ = {"MAAS_CA_BUNDLE": str(bundle)} if source == "env" else {}
    verify = _settings(values, environ).tls_verify()
    assert isinstance(verify, ssl.SSLContext), verify
    assert verify.verify_mode == ssl.CERT_REQUIRED, verify.verify_mode
    assert len(verify.get_ca_certs()) == 1, verify.get_ca_certs()


def test_ca_bundle_that_is_not_a_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(
        SettingsError, match=r"--maas-ca-bundle \(MAAS_CA_BUNDLE\): .* is not a file"
    ):
        _settings({"maas_ca_bundle": str(tmp_path / "missing.pem")})


def test_ca_bundle_without_a_certificate_is_a_usage_error(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not a certificate\n")
    with pytest.raises(SettingsError, match="holds no usable PEM certificate"):
        _settings({"maas_ca_bundle": str(bundle)})


def test_ca_bundle_and_insecure_contradict_each_other(tmp_path: Path, ca_pem: str) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text(ca_pem)
    with pytest.raises(SettingsError, match="contradict each other"):
        _settings({"maas_ca_bundle": str(bundle), "maas_insecure_skip_tls_verify": True})


def test_deploy_timeout_has_a_default() -> None:
    assert _settings().deploy_timeout == DEFAULT_DEPLOY_TIMEOUT_S


@pytest.mark.parametrize(("raw", "seconds"), [("120", 120.0), ("1.5", 1.5)])
def test_deploy_timeout_reads_seconds_from_its_variable(raw: str, seconds: float) -> None:
    assert _settings(environ={"MAAS_DEPLOY_TIMEOUT": raw}).deploy_timeout == seconds


@pytest.mark.parametrize("raw", ["0", "-5", "soon", "nan", "inf"])
def test_deploy_timeout_must_be_a_positive_number(raw: str) -> None:
    with pytest.raises(SettingsError, match="must be a positive number of seconds"):
        _settings({"maas_deploy_timeout": raw})
