"""The trust loop end to end: a running service grades, a reviewer corrects with defect boxes, the decisions are
exported, a run goes on from the served bundle with them, the golden set gates it, and the running service loads it.

The service is a real process on loopback (`start_server`); the training commands run as `secondlook` would run
them (`training.cli.main`). Tiny data (tests/fixtures/labelled_items), so the figures mean nothing: the test checks
that a correction travels the whole way, as the README's "Reviewer corrections into the next bundle" commands do.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import numpy as np
import pytest
import yaml
from PIL import Image

from grading.bundle import read_metadata
from grading.manifest import Item, read_manifest
from tests.fixtures.labelled_items import write_labelled_manifest
from tests.fixtures.service_process import cli, start_server
from training.cli import main

pytestmark = pytest.mark.slow

SETTINGS = ["augmented_copies=1", "workers=0", "bank_per_category=64", "bank_dims=16", "framing=whole"]


def _train_bundle(config: list[str], run: Path, bundle: Path, version: str) -> None:
    arguments = ["model", "train", "--no-progress", "--out", str(run), *[f"--set={s}" for s in SETTINGS + config]]
    assert main(arguments) == 0
    assert main(["model", "calibrate", "--run", str(run)]) == 0
    assert main(["model", "export", "--run", str(run), "--out", str(bundle), "--version", version]) == 0


def _stain_box(manifest: Path, item: Item) -> list[float]:
    """The labelled stain's box, from its mask (the generated photos carry no EXIF orientation)."""
    mask = np.array(Image.open(manifest.parent / item.photos[0].defects[0].mask)) > 0
    rows, columns = np.nonzero(mask)
    return [float(columns.min()), float(rows.min()), float(columns.max() + 1), float(rows.max() + 1)]


def _grade_and_review(url: str, keys: dict[str, str], manifest: Path) -> int:
    """Every item of `manifest` through the kiosk, then a reviewer decision with the defects the reviewer sees."""
    reviewed = 0
    for item in read_manifest(manifest):
        photo = (manifest.parent / item.photos[0].path).read_bytes()
        graded = httpx.post(
            f"{url}/v1/kiosk/grade",
            files=[("photos", ("photo.jpg", photo, "image/jpeg"))],
            data={"category": item.category},
            headers={"X-API-Key": keys["kiosk"]},
            timeout=60,
        )
        assert graded.status_code == 200, graded.text
        item_id = graded.json()["item_id"]
        reviewer = {"X-API-Key": keys["reviewer"]}
        photo_id = httpx.get(f"{url}/v1/review/items/{item_id}", headers=reviewer, timeout=30).json()["photos"][0]["id"]
        decision = {"action": "approve", "reason_code": "model_correct", "defects": []}
        if item.photos[0].defects:
            stain = {"photo_id": photo_id, "type": "stain", "box": _stain_box(manifest, item)}
            decision = {"action": "override", "grade": "good", "reason_code": "missed_defect", "defects": [stain]}
        answer = httpx.post(f"{url}/v1/review/items/{item_id}/decision", json=decision, headers=reviewer, timeout=30)
        assert answer.status_code == 200, answer.text
        reviewed += 1
    return reviewed


def test_a_reviewer_correction_reaches_the_next_bundle_and_the_running_service(tmp_path: Path) -> None:
    data = write_labelled_manifest(tmp_path / "data")
    served = tmp_path / "served"
    _train_bundle([f"manifests=[{data}]", "epochs=2", "anomaly_bank_weight=0"], tmp_path / "run-1", served, "0.1.0")

    service_dir = tmp_path / "service"
    keys = {role: cli(service_dir, "keys", "create", "--role", role, "--name", role) for role in ("kiosk", "reviewer")}
    keys["admin"] = cli(service_dir, "keys", "create", "--role", "admin", "--name", "admin")
    server = start_server(service_dir, env={"SECONDLOOK_BUNDLE": str(served)})
    try:
        arriving = write_labelled_manifest(tmp_path / "arriving", seed=1)  # new photos, as a station would send
        reviewed = _grade_and_review(server.url, keys, arriving)
        export = httpx.get(f"{server.url}/v1/review/export", headers={"X-API-Key": keys["reviewer"]}, timeout=60)
        corrections = tmp_path / "review.jsonl"
        corrections.write_text(export.text)
        exported = read_manifest(corrections)
        assert len(exported) == reviewed
        boxes = [d for item in exported for photo in item.photos for d in (photo.defects or [])]
        assert boxes and all(d.type == "stain" and d.box is not None for d in boxes)
        assert all(photo.defects is not None for item in exported for photo in item.photos)  # clean ones: []

        split = tmp_path / "review.split.jsonl"
        arguments = ["data", "split", str(corrections), "--mode", "ratios", "--ratios", "0.6,0.2,0.2"]
        assert main([*arguments, "--out", str(split), "--no-progress"]) == 0
        config = [f"manifests=[{data}, {split}]", f"manifest_weights={{{split}: 3}}", f"heads_from={served}"]
        candidate = tmp_path / "candidate"
        config += ["epochs=2", "condition_learning_rate=0.0002", "anomaly_bank_weight=0"]
        _train_bundle(config, tmp_path / "run-2", candidate, "0.2.0")
        assert "review.split" in [source.name for source in read_metadata(candidate).training_data]

        golden = tmp_path / "golden.yaml"
        sets = {
            "labelled": {"manifest": str(data), "split": "test"},
            "review": {"manifest": str(split), "split": "test"},
        }
        golden.write_text(yaml.safe_dump({"sets": sets}))
        promote = ["model", "promote", "--candidate", str(candidate), "--target", str(served), "--golden", str(golden)]
        # On nine golden items per set the gate's verdict is noise (aggregates without intervals move either way),
        # so the loop promotes with --force, which the bundle's history records with the gate's findings.
        assert main([*promote, "--report", str(tmp_path / "report"), "--by", "loop-test", "--force"]) == 0
        assert (tmp_path / "report" / "compare.json").is_file()
        promoted = read_metadata(served)
        assert promoted.version == "0.2.0"
        assert promoted.history[-1]["by"] == "loop-test"
        assert promoted.history[-1]["forced"] is bool(promoted.history[-1]["worse"])  # forced only past a refusal
        assert promoted.history[-1]["gate"] == f"golden set {golden}"
        assert promoted.training_config["heads_from"] == str(served) and promoted.training_config["manifest_weights"]

        admin = {"X-API-Key": keys["admin"]}
        swapped = httpx.post(f"{server.url}/v1/admin/bundle", json={"path": str(served)}, headers=admin, timeout=120)
        assert swapped.status_code == 200, swapped.text
        status = httpx.get(f"{server.url}/v1/admin/status", headers=admin, timeout=30).json()
        assert json.dumps(status).count("0.2.0") >= 1
        photo = (arriving.parent / read_manifest(arriving)[0].photos[0].path).read_bytes()
        graded = httpx.post(
            f"{server.url}/v1/kiosk/grade",
            files=[("photos", ("photo.jpg", photo, "image/jpeg"))],
            data={"category": "shirt"},
            headers={"X-API-Key": keys["kiosk"]},
            timeout=60,
        )
        assert graded.json()["result"]["model_version"] == "0.2.0"
    finally:
        server.stop()
        shutil.rmtree(service_dir / "photos", ignore_errors=True)
