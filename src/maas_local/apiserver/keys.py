"""The service-account issuer's signing key and its public JWKS.

The key is made fresh for every stack, as a new cluster would: no test can pass by knowing it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://kubernetes.default.svc"


def _key_id(public_key: rsa.RSAPublicKey) -> str:
    """kube-apiserver's key id: base64url(sha256(DER of the public key))."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()


@dataclass
class SigningKey:
    private_key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    @property
    def kid(self) -> str:
        return _key_id(self.private_key.public_key())

    def sign(self, claims: dict) -> str:
        """RS256 with the key's id and, as kube-apiserver writes them, no `typ` header."""
        headers = {"kid": self.kid, "typ": None}
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers=headers)

    def jwks(self) -> dict:
        """The public key as kube-apiserver publishes it: use, kty, alg, kid, n, e (no key_ops)."""
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key()))
        jwk.pop("key_ops", None)
        jwk.update({"use": "sig", "alg": "RS256", "kid": self.kid})
        return {"keys": [jwk]}
