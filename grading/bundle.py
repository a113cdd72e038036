"""Model bundles: a folder with `model.onnx`, optional reference galleries and reference distributions for drift
monitoring (`grading.reference_distributions`), and `bundle.json`.

`bundle.json` carries everything downstream needs so that nothing re-types a label list or a
normalisation: version, labels, preprocessing, thresholds, calibration, metrics, training data with
licenses, and the sha256 of every other file in the folder. Loading refuses a bundle whose files do
not match their recorded hashes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from grading.intake import Framing, Preprocessing
from grading.network_outputs import INPUT_NAME, OUTPUT_NAMES, NetworkOutputs

BUNDLE_FORMAT = 1
METADATA_FILE = "bundle.json"
MODEL_FILE = "model.onnx"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InputSpec(_Strict):
    name: str = INPUT_NAME
    dtype: str = "uint8"
    layout: str = "NHWC"
    resize_short_side: int = 256
    crop_size: int = 224
    framing: Framing = Field(
        Framing.CENTRE_CROP, description="bundles written before 0.2.0 do not record it: they saw centre crops"
    )
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)

    def preprocessing(self) -> Preprocessing:
        return Preprocessing(resize_short_side=self.resize_short_side, crop_size=self.crop_size, framing=self.framing)


class Labels(_Strict):
    defect_types: list[str]
    categories: list[str]
    grades: list[str]
    grade_scale: str
    product_lines: list[str] = Field(default_factory=list, description="lines the authenticity head trained on")


class Thresholds(_Strict):
    """Decision thresholds on the bundle's normalised scores."""

    anomaly: float = Field(1.0, description="anomaly_score at or above this is anomalous (scores are normalised)")
    defect_presence: dict[str, float] = Field(default_factory=dict, description="per type, on the map's maximum")
    defect_confident: dict[str, float] = Field(
        default_factory=dict,
        description="per type, the peak from which a reported defect is certain enough to lower a grade; a type "
        "missing here uses its defect_presence threshold (bundles before 0.3.0)",
    )
    counterfeit_above: float = 0.5
    authentic_below: float = 0.5
    wear_presence: float | None = Field(
        None, description="wear_prob at or above this: the photo may show a worn pair (review); None: no wear head"
    )
    wear_confident: float | None = Field(
        None, description="wear_prob at or above this: the photo shows wear certain enough to lower a grade"
    )


class Calibration(_Strict):
    temperatures: dict[str, float] = Field(default_factory=dict)
    anomaly_distance_per_category: dict[str, float] = Field(default_factory=dict)
    anomaly_bank_scale_per_category: dict[str, float] = Field(default_factory=dict)
    anomaly_bank_weight: float = 1.0
    grade_bias: float = Field(0.0, description="added to the grade head's ordinal logits after like_new (see training)")
    product_line_prototypes: dict[str, list[float]] = Field(
        default_factory=dict,
        description="per product line, the normalised mean embedding of its authentic validation photos; an item "
        "whose line is not given is matched to the nearest (grading.authenticity.nearest_product_line)",
    )
    method: str = "temperature scaling on the validation split"


class TrainingData(_Strict):
    name: str
    license: str
    items: int


class BundleMetadata(_Strict):
    format: int = BUNDLE_FORMAT
    name: str
    version: str
    created: str
    input: InputSpec = InputSpec()
    outputs: list[str] = Field(default_factory=lambda: list(OUTPUT_NAMES))
    labels: Labels
    thresholds: Thresholds = Thresholds()
    calibration: Calibration = Calibration()
    metrics: dict[str, float | None] = Field(default_factory=dict)
    training_data: list[TrainingData] = Field(default_factory=list)
    training_config: dict = Field(default_factory=dict)
    parity: dict[str, float] = Field(default_factory=dict, description="max |torch - onnxruntime| per output")
    files: dict[str, str] = Field(default_factory=dict, description="file name -> sha256")
    history: list[dict] = Field(
        default_factory=list, description="promotions of this bundle name, oldest first (`secondlook model promote`)"
    )


class BundleError(RuntimeError):
    """A bundle folder that is incomplete, altered, or of a format this code does not read."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_metadata(folder: Path) -> BundleMetadata:
    """Parse `bundle.json` and verify every listed file's sha256; raise `BundleError` saying what is wrong."""
    folder = Path(folder)
    metadata_path = folder / METADATA_FILE
    if not metadata_path.is_file():
        raise BundleError(f"{folder} is not a model bundle: {METADATA_FILE} is missing.")
    try:
        metadata = BundleMetadata.model_validate_json(metadata_path.read_text(encoding="utf-8"))
    except ValidationError as error:
        raise BundleError(f"{metadata_path} is not a valid bundle description: {error}") from error
    _verify_files(folder, metadata)
    _check_outputs(metadata_path, metadata)
    return metadata


def _check_outputs(metadata_path: Path, metadata: BundleMetadata) -> None:
    missing = [name for name in OUTPUT_NAMES if name not in metadata.outputs]
    unknown = [name for name in metadata.outputs if name not in NetworkOutputs._fields]
    if missing or unknown:
        raise BundleError(
            f"{metadata_path} lists outputs {metadata.outputs}: missing {missing}, unknown {unknown}; this code "
            f"reads {list(NetworkOutputs._fields)} (the optional ones may be left out). Re-export the bundle."
        )


def _verify_files(folder: Path, metadata: BundleMetadata) -> None:
    if MODEL_FILE not in metadata.files:
        raise BundleError(f"{folder / METADATA_FILE} lists no sha256 for {MODEL_FILE}; re-export the bundle.")
    for name, expected in metadata.files.items():
        path = folder / name
        if not path.is_file():
            raise BundleError(f"Bundle file {path} is missing (bundle.json expects sha256 {expected}).")
        actual = file_sha256(path)
        if actual != expected:
            raise BundleError(
                f"Bundle file {path} has sha256 {actual}, but bundle.json records {expected}: the file was altered "
                "or belongs to another bundle. Re-export or restore the bundle; it was not loaded."
            )


def write_metadata(folder: Path, metadata: BundleMetadata) -> BundleMetadata:
    """Record the sha256 of every file in the folder (except bundle.json) and write bundle.json."""
    folder = Path(folder)
    hashes = {p.name: file_sha256(p) for p in sorted(folder.iterdir()) if p.is_file() and p.name != METADATA_FILE}
    final = metadata.model_copy(update={"files": hashes})
    (folder / METADATA_FILE).write_text(final.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return final
