"""`secondlook-service certificate verify FILE --public-key KEY` and `certificate public-key`.

`verify` works offline, with nothing but the certificate file and the operator's public key: exit 0 when the
signature is valid, 1 when the certificate is not valid (altered, wrong key, not a certificate), 2 when a file
can't be read. Revocation can only be checked online, at the certificate's `verify_url`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from serving.certificate_signing import load_public_key, verify
from serving.operator_key import OperatorKeyError, load_operator_key
from serving.settings import Settings


def add_certificate_commands(commands: argparse._SubParsersAction) -> None:
    certificate = commands.add_parser("certificate", help="verify a certificate offline; print the public key")
    actions = certificate.add_subparsers(required=True)
    check = actions.add_parser("verify", help="check a certificate's signature with the operator's public key")
    check.add_argument("file", type=Path, help="the certificate (JSON), e.g. from GET /v1/certificates/{id}")
    check.add_argument("--public-key", type=Path, required=True, help="the operator's public key (PEM)")
    check.set_defaults(command=verify_command)
    show = actions.add_parser("public-key", help="print the operator's public key (PEM); creates the key if missing")
    show.set_defaults(command=public_key_command)


def verify_command(_settings: Settings, args: argparse.Namespace) -> int:
    try:
        key = load_public_key(args.public_key.read_bytes())
        text = args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return _fail(2, f"cannot read {getattr(error, 'filename', None) or args.file}: {error}")
    except ValueError as error:
        return _fail(2, f"{args.public_key}: {error}; pass the PEM from `certificate public-key` or the well-known URL")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        return _fail(1, f"INVALID: {args.file} is not JSON ({error}); the certificate was altered or is not one")
    checked = verify(document, key)
    if not checked.valid:
        return _fail(1, f"INVALID: {checked.message}")
    print(f"{checked.message}\n{_summary(document['payload'])}")
    return 0


def _summary(payload: dict) -> str:
    item = payload.get("item") or {}
    return (
        f"certificate {payload.get('certificate_id')} for item {item.get('id')}: grade {payload.get('grade')},"
        f" authenticity {(payload.get('authenticity') or {}).get('verdict')}, issued {payload.get('issued_at')}\n"
        f"revocation is checked online: {payload.get('verify_url')}"
    )


def public_key_command(settings: Settings, _args: argparse.Namespace) -> int:
    try:
        key = load_operator_key(settings)
    except OperatorKeyError as error:
        return _fail(2, str(error))
    print(key.public_pem(), end="")
    print(f"key id {key.key_id}", file=sys.stderr)
    return 0


def _fail(code: int, message: str) -> int:
    print(f"secondlook-service: {message}", file=sys.stderr)
    return code
