"""`secondlook-service`: run the HTTP service, manage API keys, migrate the database.

secondlook-service run [--host 127.0.0.1] [--port 8000] [--data-dir var/service] [--demo-keys]
secondlook-service keys create --role station --name "station-berlin-3"
secondlook-service migrate
secondlook-service regrade --bundle DIR [--since 2026-11-01] [--program P] [--ray-address A]
secondlook-service certificate verify certificate.json --public-key key.pem
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from grading.bundle import BundleError, read_metadata
from grading.policy import PolicyError
from grading.pricing import PricingError
from serving.auth import create_key, list_keys, revoke_key
from serving.certificate_commands import add_certificate_commands
from serving.database import make_engine, migrate, session_factory
from serving.errors import ApiError
from serving.operator_key import OperatorKeyError, load_operator_key
from serving.regrade_commands import add_regrade_command
from serving.settings import Settings, settings_from_environment
from serving.storage import PhotoStoreMisconfigured, open_photo_store, photo_store_location
from serving.tables import Role

DEMO_KEYS_FILE = "demo-keys.json"
# What makes `run` refuse to start, with one line naming what to fix.
STARTUP_ERRORS = (BundleError, PolicyError, PricingError, FileNotFoundError, OperatorKeyError, PhotoStoreMisconfigured)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = settings_from_environment(data_dir=args.data_dir, database_url=args.database_url)
    except ValueError as error:  # pydantic's ValidationError is a ValueError
        parser.exit(2, f"secondlook-service: bad settings: {error}\n")
    return args.command(settings, args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="secondlook-service", description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, help="where the database and photos live (default var/service)")
    parser.add_argument("--database-url", help="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db")
    commands = parser.add_subparsers(required=True)
    run = commands.add_parser("run", help="start the service")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--demo-keys", action="store_true", help="create (once) and print a key for every role")
    run.set_defaults(command=_run)
    keys = commands.add_parser("keys", help="API keys").add_subparsers(required=True)
    create = keys.add_parser("create", help="create a key and print it (shown once)")
    create.add_argument("--role", required=True, choices=[role.value for role in Role])
    create.add_argument("--name", required=True)
    create.set_defaults(command=_create_key)
    keys.add_parser("list", help="every key: prefix, role, name, created, revoked").set_defaults(command=_list_keys)
    revoke = keys.add_parser("revoke", help="revoke a key by its prefix (the part after sl_)")
    revoke.add_argument("prefix")
    revoke.set_defaults(command=_revoke_key)
    commands.add_parser("migrate", help="create or upgrade the database schema").set_defaults(command=_migrate)
    add_certificate_commands(commands)
    add_regrade_command(commands)
    return parser


def _sessions(settings: Settings) -> sessionmaker[Session]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url())
    migrate(engine)
    return session_factory(engine)


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    _sessions(settings)
    print(f"database ready: {settings.resolved_database_url()}")
    return 0


def _create_key(settings: Settings, args: argparse.Namespace) -> int:
    with _sessions(settings).begin() as session:
        key = create_key(session, args.name, Role(args.role))
    print(key)
    return 0


def _list_keys(settings: Settings, _args: argparse.Namespace) -> int:
    with _sessions(settings)() as session:
        for row in list_keys(session):
            state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "active"
            print(f"{row.prefix}  {row.role:<8}  {state:<24}  {row.name}")
    return 0


def _revoke_key(settings: Settings, args: argparse.Namespace) -> int:
    try:
        with _sessions(settings).begin() as session:
            row = revoke_key(session, args.prefix)
            print(f"revoked {row.prefix} ({row.role}, {row.name})")
    except ApiError as error:
        print(f"secondlook-service: {error.message}", file=sys.stderr)
        return 1
    return 0


def demo_keys(settings: Settings) -> dict[str, str]:
    """One key per role, created on first use and kept in the data folder (readable by the owner only)."""
    path = settings.data_dir / DEMO_KEYS_FILE
    if path.is_file():
        return json.loads(path.read_text())
    with _sessions(settings).begin() as session:
        keys = {role.value: create_key(session, f"demo-{role.value}", role) for role in Role}
    path.write_text(json.dumps(keys, indent=2))
    os.chmod(path, 0o600)
    return keys


def _run(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from serving.app import create_app
    from serving.item_grader import load_rules

    try:  # refuse to start on a broken bundle, policy or pricing file, saying which and why
        read_metadata(settings.bundle)
        load_rules(settings.policy, settings.pricing)
        load_operator_key(settings)  # the certificate key: generated on first start, or the configured file
        open_photo_store(settings)  # an S3 bucket, when set, exists and the credentials may use it
    except STARTUP_ERRORS as error:
        print(f"secondlook-service: not starting: {error}", file=sys.stderr)
        return 2
    url = f"http://{args.host}:{args.port}"
    print(f"secondlook service on {url}  (API docs: {url}/docs)")
    photos = photo_store_location(settings)
    print(f"data: {settings.data_dir.resolve()} ({settings.resolved_database_url()}, photos in {photos})")
    if args.demo_keys:
        for role, key in demo_keys(settings).items():
            print(f"demo {role:<8} key: {key}")
    sys.stdout.flush()
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info", access_log=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
