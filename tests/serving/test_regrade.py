"""`secondlook-service regrade`: a real archive graded by the service, regraded on a local Ray cluster by the real
command in its own process; killed with SIGKILL mid-run and resumed."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from serving.regrade_summary import ItemChange, summarise
from serving.settings import DEFAULT_BUNDLE
from serving.tables import Item, RegradedResult, RegradeRun, Result
from tests.fixtures.service_process import REPO
from tests.serving.conftest import jpeg, start_service, wait_for_status

pytest.importorskip("ray", reason="regrading needs Ray: pip install -e '.[regrade]'")

GARMENTS = ("tshirt", "jeans", "dress", "shorts", "sneakers", "sweater")


def make_archive(
    data_dir: Path, items: int, photos: int, size: tuple[int, int] | None = None, database_url: str | None = None
) -> list[str]:
    """`items` station items graded by the real service, alternately of programs "luxury" and "trade-in"."""
    service_run = start_service(data_dir, database_url=database_url)
    service = next(service_run)
    ids = []
    for index in range(items):
        files = [
            ("photos", (f"{index}-{k}.jpg", jpeg(GARMENTS[(index + k) % 6], size=size), "image/jpeg"))
            for k in range(photos)
        ]
        facts = {"sku": f"sku-{index}", "program": "luxury" if index % 2 == 0 else "trade-in"}
        data = {"metadata": json.dumps(facts), "force": "true"}
        response = service.client.post("/v1/station/items", files=files, data=data, headers=service.headers("station"))
        assert response.status_code == 201, response.text
        ids.append(response.json()["item_id"])
    for item_id in ids:
        wait_for_status(service, item_id, {"graded"})
    service_run.close()
    return ids


def regrade_command(data_dir: Path, *args: str, database_url: str | None = None) -> list[str]:
    where = ["--data-dir", str(data_dir)] + (["--database-url", database_url] if database_url else [])
    return [sys.executable, "-m", "serving.cli", *where, "regrade", "--no-progress", *args]


def regrade(data_dir: Path, *args: str, database_url: str | None = None) -> subprocess.CompletedProcess:
    command = regrade_command(data_dir, *args, database_url=database_url)
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)


def database(data_dir: Path, url: str | None = None) -> Session:
    return Session(create_engine(url or f"sqlite:///{data_dir / 'secondlook.db'}"))


def strict_bundle(folder: Path) -> Path:
    """The shipped bundle with every defect threshold at 0.05: every photo reports defects, grades fall."""
    import shutil

    shutil.copytree(DEFAULT_BUNDLE, folder)
    metadata = json.loads((folder / "bundle.json").read_text())
    for name in ("defect_presence", "defect_confident"):
        metadata["thresholds"][name] = {kind: 0.05 for kind in metadata["thresholds"][name]}
    metadata["version"] += "-strict"
    (folder / "bundle.json").write_text(json.dumps(metadata, indent=2))
    return folder


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[str]]]:
    data_dir = tmp_path_factory.mktemp("archive")
    yield data_dir, make_archive(data_dir, items=6, photos=2)


@pytest.mark.slow
def test_the_service_bundle_regraded_gives_every_item_its_grade_again(archive: tuple[Path, list[str]]) -> None:
    data_dir, ids = archive
    with database(data_dir) as session:
        results_before = session.scalar(select(func.count()).select_from(Result))
    done = regrade(data_dir, "--bundle", str(DEFAULT_BUNDLE))
    assert done.returncode == 0, done.stderr
    assert "6 items regraded, 0 could not be" in done.stdout
    assert "grade: 0 lower, 0 higher, 6 the same" in done.stdout
    with database(data_dir) as session:
        rows = session.scalars(select(RegradedResult)).all()
        assert sorted(row.item_id for row in rows) == sorted(ids)
        for row in rows:
            service = session.get(Result, row.previous_result_id)
            assert row.body["grade"] == service.body["grade"] and row.body["defects"] == service.body["defects"]
        run = session.scalars(select(RegradeRun)).one()
        assert run.finished_at is not None and run.items_total == 6 and run.summary["grade_same"] == 6
        assert session.scalar(select(func.count()).select_from(Result)) == results_before  # nothing overwritten


@pytest.mark.slow
def test_a_stricter_bundle_on_one_program_reports_what_it_changes(
    archive: tuple[Path, list[str]], tmp_path: Path
) -> None:
    data_dir, ids = archive
    changes = tmp_path / "changes.csv"
    bundle = strict_bundle(tmp_path / "strict")
    done = regrade(data_dir, "--bundle", str(bundle), "--program", "luxury", "--changes", str(changes))
    assert done.returncode == 0, done.stderr
    luxury = set(ids[0::2])
    rows = list(csv.DictReader(changes.open()))
    assert {row["item_id"] for row in rows} == luxury
    assert all(row["grade_before"] != row["grade_after"] for row in rows)
    assert f"{len(luxury)} items regraded" in done.stdout and f"grade: {len(luxury)} lower" in done.stdout
    with database(data_dir) as session:
        run = session.scalars(select(RegradeRun).where(RegradeRun.program == "luxury")).one()
        assert run.bundle_version.endswith("-strict") and run.summary["grade_worse"] == len(luxury)
        service_grades = {item.id: item.grade for item in session.scalars(select(Item))}
    assert {row["grade_before"] for row in rows} == {service_grades[item_id] for item_id in luxury}


@pytest.mark.slow
def test_a_killed_regrade_resumes_and_grades_every_item_once(tmp_path: Path) -> None:
    ids = make_archive(tmp_path, items=48, photos=3, size=(2000, 1500))
    process = subprocess.Popen(
        regrade_command(tmp_path, "--bundle", str(DEFAULT_BUNDLE)),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its Ray cluster too: the whole group is killed, as a crash of the machine would
    )
    written = wait_for_regraded_rows(tmp_path, process)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    with database(tmp_path) as session:
        kept = session.scalar(select(func.count()).select_from(RegradedResult))
        first_run = session.scalars(select(RegradeRun)).one()
    assert 0 < written <= kept < len(ids), "the kill came after the run had finished: nothing was resumed"
    assert first_run.finished_at is None
    done = regrade(tmp_path, "--bundle", str(DEFAULT_BUNDLE))
    assert done.returncode == 0, done.stderr
    assert f"regrade run {first_run.id} (resumed): {len(ids) - kept} items graded now" in done.stdout
    with database(tmp_path) as session:
        rows = session.scalars(select(RegradedResult)).all()
        assert sorted(row.item_id for row in rows) == sorted(ids)  # each once (and a unique constraint holds it)
        assert session.get(RegradeRun, first_run.id).finished_at is not None


@pytest.mark.slow
def test_an_archive_on_postgresql_is_regraded(tmp_path: Path, postgres_url: str) -> None:
    ids = make_archive(tmp_path, items=4, photos=1, database_url=postgres_url)
    done = regrade(tmp_path, "--bundle", str(DEFAULT_BUNDLE), "--since", "2000-01-01", database_url=postgres_url)
    assert done.returncode == 0, done.stderr
    assert "grade: 0 lower, 0 higher, 4 the same" in done.stdout
    with database(tmp_path, postgres_url) as session:
        assert sorted(session.scalars(select(RegradedResult.item_id))) == sorted(ids)
        assert session.scalars(select(RegradeRun)).one().since.year == 2000
    again = regrade(tmp_path, "--bundle", str(DEFAULT_BUNDLE), "--since", "2000-01-01", database_url=postgres_url)
    assert again.returncode == 0 and "(new): 4 items graded now" in again.stdout  # a finished run is not resumed


def wait_for_regraded_rows(data_dir: Path, process: subprocess.Popen, attempts: int = 3000) -> int:
    for _ in range(attempts):  # a guard against hanging, not a timing assertion
        assert process.poll() is None, "the regrade ended before any result was written"
        try:
            with database(data_dir) as session:
                count = session.scalar(select(func.count()).select_from(RegradedResult))
        except Exception:  # the table is not there until the command has migrated the database
            count = 0
        if count:
            return count
        time.sleep(0.02)
    raise AssertionError("no regraded result was written")


def test_a_folder_that_is_not_a_bundle_is_refused_before_ray_starts(tmp_path: Path) -> None:
    done = regrade(tmp_path, "--bundle", str(tmp_path / "missing"))
    assert done.returncode == 2
    assert "regrade not started" in done.stderr and "no model.onnx" in done.stderr


def test_a_bad_since_date_says_what_a_date_looks_like(tmp_path: Path) -> None:
    done = regrade(tmp_path, "--bundle", str(DEFAULT_BUNDLE), "--since", "last week")
    assert done.returncode == 2 and "not an ISO 8601 date, e.g. 2026-11-01" in done.stderr


def graded(rank: int, name: str, decision: str = "list", verdict: str = "not_requested") -> dict:
    return {"grade": {"rank": rank, "name": name}, "decision": decision, "authenticity": {"verdict": verdict}}


def test_the_summary_counts_grades_decisions_and_verdicts_that_moved() -> None:
    changes = [
        ItemChange("a", graded(1, "like_new"), graded(3, "very_good", "review")),
        ItemChange("b", graded(3, "very_good", "review"), graded(1, "like_new")),
        ItemChange("c", graded(2, "excellent"), graded(2, "excellent", verdict="authentic")),
        ItemChange("d", graded(2, "excellent"), {}, "PhotoNotFound: gone"),
        ItemChange("e", None, graded(2, "excellent")),
    ]
    summary = summarise(changes)
    assert (summary.items, summary.failed) == (5, 1)
    assert (summary.grade_worse, summary.grade_better, summary.grade_same) == (1, 1, 1)
    assert summary.without_earlier_grade == 1
    assert (summary.newly_flagged, summary.no_longer_flagged, summary.authenticity_changed) == (1, 1, 1)
    assert summary.grade_moves == {"like_new -> very_good": 1, "very_good -> like_new": 1}
    assert summary.decision_moves == {"list -> review": 1, "review -> list": 1}
