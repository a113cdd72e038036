"""The operator's Ed25519 signing key for certificates: a key file named in settings, or one generated on first start.

The generated key is `certificate-key.pem` in the data folder (PKCS#8 PEM, mode 0600), written to a temporary file
and linked into place, so processes sharing the folder agree on one key even when they start together.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from serving.certificate_signing import key_id, public_key_pem
from serving.settings import Settings

KEY_FILE = "certificate-key.pem"
MAKE_ONE = "make one with `openssl genpkey -algorithm ed25519 -out key.pem` (or leave the setting out)"
log = logging.getLogger("secondlook.certificates")


class OperatorKeyError(ValueError):
    """The configured key file is missing or not an unencrypted Ed25519 private key in PEM."""


@dataclass(frozen=True)
class OperatorKey:
    private: Ed25519PrivateKey
    key_id: str

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    def public_pem(self) -> str:
        return public_key_pem(self.public)


def load_operator_key(settings: Settings) -> OperatorKey:
    """The key from `settings.certificate_key_file`, else the data folder's (created when missing)."""
    path = settings.certificate_key_file
    if path is None:
        path = settings.data_dir / KEY_FILE
        _create_if_missing(path)
    elif not path.is_file():
        raise OperatorKeyError(f"certificate_key_file {path} does not exist; {MAKE_ONE}")
    private = _read(path)
    _warn_if_readable_by_others(path)
    return OperatorKey(private, key_id(private.public_key()))


def _read(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as error:
        raise OperatorKeyError(f"{path} is not an unencrypted private key in PEM ({error}); {MAKE_ONE}") from error
    if not isinstance(key, Ed25519PrivateKey):
        raise OperatorKeyError(f"{path} is not an Ed25519 key (it holds {type(key).__name__}); {MAKE_ONE}")
    return key


def _create_if_missing(path: Path) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)  # fails if another process linked its key first; then theirs is the key
        log.info("generated the certificate signing key %s", path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink(missing_ok=True)


def _warn_if_readable_by_others(path: Path) -> None:
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s can be read by other users; `chmod 600 %s`", path, path)
