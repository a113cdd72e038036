"""Signed certificate documents: canonical JSON of a payload, an Ed25519 signature, and offline verification.

A document is `{"format", "algorithm", "key_id", "payload", "signature"}`: the signature (base64) is over the
canonical JSON of `payload` (keys sorted, no whitespace, UTF-8; the payload holds no floats, so every JSON library
writes the same bytes). `key_id` names the key: the first 16 hex digits of the sha256 of the raw public key.
Needs only `cryptography`, so a buyer can verify without the service.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

FORMAT = "secondlook-certificate/1"
ALGORITHM = "Ed25519"
DOCUMENT_FIELDS = ("format", "algorithm", "key_id", "payload", "signature")


def canonical_json(payload: dict) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_pem(public_key: Ed25519PublicKey) -> str:
    pem = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem.decode()


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM; ValueError saying what is wrong otherwise."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as error:
        raise ValueError(f"not a PEM public key ({error})") from error
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"not an Ed25519 public key (it holds {type(key).__name__})")
    return key


def sign(private_key: Ed25519PrivateKey, payload: dict) -> dict:
    """The signed document of `payload`."""
    signature = base64.b64encode(private_key.sign(canonical_json(payload))).decode()
    return {
        "format": FORMAT,
        "algorithm": ALGORITHM,
        "key_id": key_id(private_key.public_key()),
        "payload": payload,
        "signature": signature,
    }


@dataclass(frozen=True)
class Verification:
    valid: bool
    message: str


def verify(document: object, public_key: Ed25519PublicKey) -> Verification:
    """Whether `document` (parsed JSON) was signed by `public_key` and is unchanged since, with the reason."""
    problem = _shape_problem(document)
    if problem:
        return Verification(False, f"not a secondlook certificate: {problem}")
    expected = key_id(public_key)
    if document["key_id"] != expected:
        return Verification(
            False, f"signed with key {document['key_id']}, but the public key given is {expected}; use the issuer's key"
        )
    try:
        signature = base64.b64decode(document["signature"], validate=True)
        public_key.verify(signature, canonical_json(document["payload"]))
    except (binascii.Error, InvalidSignature, ValueError):
        return Verification(False, "the signature does not match the payload: the certificate was altered")
    return Verification(True, f"valid: signed by key {expected}")


def _shape_problem(document: object) -> str | None:
    if not isinstance(document, dict):
        return "expected a JSON object"
    missing = [name for name in DOCUMENT_FIELDS if name not in document]
    if missing:
        return f"missing {', '.join(missing)}"
    if document["format"] != FORMAT or document["algorithm"] != ALGORITHM:
        return f"format {document['format']!r} / algorithm {document['algorithm']!r}; expected {FORMAT} / {ALGORITHM}"
    if not isinstance(document["payload"], dict) or not isinstance(document["signature"], str):
        return "payload must be an object and signature a base64 string"
    return None
