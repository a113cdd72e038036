"""Settings from the environment, including webhook endpoints as JSON, with errors that say what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from serving.settings import settings_from_environment


def test_environment_sets_fields_and_webhooks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SECONDLOOK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SECONDLOOK_JOB_WORKERS", "3")
    monkeypatch.setenv("SECONDLOOK_WEBHOOKS", '[{"url": "http://127.0.0.1:9/h", "secret": "0123456789abcdef"}]')
    settings = settings_from_environment()
    assert settings.data_dir == tmp_path and settings.job_workers == 3
    assert settings.webhooks[0].url == "http://127.0.0.1:9/h" and settings.webhooks[0].events
    assert settings.resolved_database_url().endswith("secondlook.db")


def test_overrides_win_over_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SECONDLOOK_DATA_DIR", "/elsewhere")
    assert settings_from_environment(data_dir=tmp_path).data_dir == tmp_path


def test_bad_webhooks_json_says_what_to_send(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECONDLOOK_WEBHOOKS", "[{url: x}]")
    with pytest.raises(ValueError, match="SECONDLOOK_WEBHOOKS is not valid JSON"):
        settings_from_environment()


def test_short_webhook_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECONDLOOK_WEBHOOKS", '[{"url": "http://x/h", "secret": "short"}]')
    with pytest.raises(ValidationError, match="secret"):
        settings_from_environment()


def test_zero_workers_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECONDLOOK_JOB_WORKERS", "0")
    with pytest.raises(ValidationError, match="at least 1"):
        settings_from_environment()
