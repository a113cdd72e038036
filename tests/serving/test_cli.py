"""`secondlook-service`: keys from the command line, and a clear refusal to start on broken configuration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from serving.auth import authenticate
from serving.database import make_engine, session_factory
from serving.tables import Role
from tests.fixtures.service_process import REPO, cli


def run_cli(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "serving.cli", "--data-dir", str(data_dir), *args]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=os.environ | env, check=False)


def test_key_created_on_the_command_line_authenticates_with_its_role(tmp_path: Path) -> None:
    key = cli(tmp_path, "keys", "create", "--role", "reviewer", "--name", "anna")
    with session_factory(make_engine(f"sqlite:///{tmp_path / 'secondlook.db'}"))() as session:
        caller = authenticate(session, key)
    assert (caller.name, caller.role) == ("anna", Role.REVIEWER)


def test_unknown_role_lists_the_choices(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "keys", "create", "--role", "boss", "--name", "x")
    assert done.returncode == 2 and "choose from" in done.stderr


def test_refuses_to_start_on_a_missing_bundle(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "run", SECONDLOOK_BUNDLE=str(tmp_path / "nowhere"))
    assert done.returncode == 2 and "bundle.json is missing" in done.stderr


def test_refuses_to_start_on_a_broken_policy(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\ngrades: [good]\n")
    done = run_cli(tmp_path, "run", SECONDLOOK_POLICY=str(policy))
    assert done.returncode == 2 and str(policy) in done.stderr


def test_bad_settings_name_the_field(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "migrate", SECONDLOOK_MAX_BATCH="0")
    assert done.returncode == 2 and "max_batch" in done.stderr


def test_keys_list_and_revoke_on_the_command_line(tmp_path: Path) -> None:
    key = cli(tmp_path, "keys", "create", "--role", "kiosk", "--name", "store-12")
    prefix = key.split("_")[1]
    assert prefix in run_cli(tmp_path, "keys", "list").stdout
    assert run_cli(tmp_path, "keys", "revoke", prefix).returncode == 0
    listed = run_cli(tmp_path, "keys", "list").stdout
    assert "revoked" in listed and key not in listed
    unknown = run_cli(tmp_path, "keys", "revoke", "nosuchprefix")
    assert unknown.returncode == 1 and "No API key with prefix" in unknown.stderr
