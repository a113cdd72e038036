"""The certificate signing key: generated once into the data folder (0600), or read from a configured file; a bad
file stops the service from starting with a message that says how to make a good one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from serving.certificate_signing import key_id, sign, verify
from serving.operator_key import KEY_FILE, OperatorKeyError, load_operator_key
from serving.settings import Settings
from tests.fixtures.service_process import REPO


def pem(key: object) -> bytes:
    encoding, private_format = serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8
    return key.private_bytes(encoding, private_format, serialization.NoEncryption())


def test_a_key_is_generated_once_into_the_data_folder_readable_by_the_owner_only(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    first = load_operator_key(settings)
    assert (tmp_path / "data" / KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert load_operator_key(settings).key_id == first.key_id  # the same key after a restart
    assert [p.name for p in (tmp_path / "data").iterdir()] == [KEY_FILE]  # no temporary file left behind


def test_a_configured_key_file_is_used(tmp_path: Path) -> None:
    private = Ed25519PrivateKey.generate()
    (tmp_path / "operator.pem").write_bytes(pem(private))
    key = load_operator_key(Settings(data_dir=tmp_path / "data", certificate_key_file=tmp_path / "operator.pem"))
    assert key.key_id == key_id(private.public_key())
    assert verify(sign(key.private, {"grade": "good"}), private.public_key()).valid
    assert not (tmp_path / "data" / KEY_FILE).exists()


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (None, "does not exist"),
        (b"not a key", "is not an unencrypted private key in PEM"),
        (pem(ec.generate_private_key(ec.SECP256R1())), r"is not an Ed25519 key \(it holds EC"),
    ],
)
def test_a_bad_key_file_says_how_to_make_one(tmp_path: Path, content: bytes | None, needle: str) -> None:
    path = tmp_path / "operator.pem"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(OperatorKeyError, match=needle) as refused:
        load_operator_key(Settings(data_dir=tmp_path, certificate_key_file=path))
    assert "openssl genpkey -algorithm ed25519" in str(refused.value)


def test_the_service_refuses_to_start_with_a_bad_key_file(tmp_path: Path) -> None:
    env = os.environ | {"SECONDLOOK_CERTIFICATE_KEY_FILE": str(tmp_path / "missing.pem")}
    command = [sys.executable, "-m", "serving.cli", "--data-dir", str(tmp_path), "run", "--port", "9"]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2
    assert "not starting: certificate_key_file" in done.stderr and "does not exist" in done.stderr


def test_public_url_must_be_absolute() -> None:
    with pytest.raises(ValueError, match="public_url must start with https://"):
        Settings(public_url="grading.example")
    assert Settings(public_url="https://grading.example/").public_url == "https://grading.example"
