"""A training run's folder: resolved config, checkpoint (state dicts + JSON metadata), progress for resuming.

Files: `config.yaml`, `heads.pt` and `memory_bank.pt` (tensors only, read back with
`torch.load(weights_only=True)`), `checkpoint.json` (labels, training data, history, timing, and the
calibration once `calibrate` has run), and `last.pt` (heads, optimiser, schedule, epoch) while training.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml

from grading.intake import Framing
from grading.vocabulary import DEFAULT_GRADE_SCALE, DefectType, Grade
from training.network import GradingHeads
from training.patch_memory import MemoryBank


class CheckpointError(RuntimeError):
    """A run folder without the files a step needs; the message names the step to run first."""


@dataclass(frozen=True)
class RunFolder:
    path: Path

    @property
    def config_path(self) -> Path:
        return self.path / "config.yaml"

    def framing(self) -> Framing:
        """The intake framing the run trained on (runs from before framing was configurable: centre crops)."""
        saved = yaml.safe_load(self.config_path.read_text(encoding="utf-8")) if self.config_path.is_file() else {}
        return Framing((saved or {}).get("framing", Framing.CENTRE_CROP))

    @property
    def metadata_path(self) -> Path:
        return self.path / "checkpoint.json"

    def save(self, heads, memory, categories, sources, history, seconds: float, product_lines=()) -> None:
        torch.save(heads.state_dict(), self.path / "heads.pt")
        torch.save(memory.state_dict(), self.path / "memory_bank.pt")
        labels = {
            "defect_types": [t.value for t in DefectType],
            "categories": categories,
            "grades": [g.value for g in Grade],
            "grade_scale": DEFAULT_GRADE_SCALE,
            "product_lines": list(product_lines),
        }
        metadata = {"labels": labels, "training_data": sources, "history": history, "training_seconds": seconds}
        self.write_metadata(metadata)

    def write_metadata(self, metadata: dict) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self.metadata_path.write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")

    def metadata(self) -> dict:
        if not self.metadata_path.is_file():
            raise CheckpointError(f"{self.path} holds no finished training run; run `secondlook model train` first")
        return json.loads(self.metadata_path.read_text(encoding="utf-8"))

    def load_heads(self) -> GradingHeads:
        labels = self.metadata()["labels"]
        heads = GradingHeads(
            len(labels["defect_types"]), len(labels["categories"]), len(labels["grades"]), pretrained=False
        )
        heads.load_state_dict(torch.load(self.path / "heads.pt", map_location="cpu", weights_only=True))
        return heads.eval()

    def load_memory(self) -> MemoryBank:
        state = torch.load(self.path / "memory_bank.pt", map_location="cpu", weights_only=True)
        return MemoryBank.from_state(state).eval()

    def save_progress(self, heads, optimiser, schedule, epoch: int, history: list) -> None:
        state = {
            "heads": heads.state_dict(),
            "optimiser": optimiser.state_dict(),
            "schedule": schedule.state_dict(),
            "epoch": epoch,
        }
        self.path.mkdir(parents=True, exist_ok=True)
        torch.save(state, self.path / "last.pt")
        (self.path / "history.json").write_text(json.dumps(history, indent=2) + "\n", encoding="utf-8")

    def resume_state(self, heads, optimiser, schedule) -> tuple[int, list]:
        """Load `last.pt` into the given objects; returns the next epoch and the history so far."""
        progress = self.path / "last.pt"
        if not progress.is_file():
            raise CheckpointError(f"nothing to resume: {progress} does not exist; start without --resume")
        state = torch.load(progress, map_location="cpu", weights_only=True)
        heads.load_state_dict(state["heads"])
        optimiser.load_state_dict(state["optimiser"])
        schedule.load_state_dict(state["schedule"])
        history = json.loads((self.path / "history.json").read_text(encoding="utf-8"))
        return int(state["epoch"]), history
