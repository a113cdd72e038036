"""Label maps: explicit, editable YAML files that map a source dataset's names onto the project's vocabulary.

A label map says which manifest field the source names fill and how each name maps::

    field: defect_type          # defect_type | category | authenticity | item
    map:
      Bacterial Injury: surface_flaw
      Hole: hole
    ignore: [logo]              # optional: source names that are deliberately not labels

With `field: item` a name fills several item fields at once (category, authenticity, product_line)::

    field: item
    map:
      fake_af1: {category: shoes, authenticity: counterfeit, product_line: af1}

A name that is neither mapped nor ignored is an error naming the label map, the name and where it was
seen, never silently dropped. Values are checked against `DefectType` or `Authenticity` when loading.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import yaml

from grading.vocabulary import Authenticity, DefectType
from training.importers.errors import LabelMapError


class LabelField(StrEnum):
    """The manifest field that a dataset's source names fill."""

    DEFECT_TYPE = "defect_type"
    CATEGORY = "category"
    AUTHENTICITY = "authenticity"
    ITEM = "item"  # each name maps to several item fields (ITEM_FIELDS)


ITEM_FIELDS = ("category", "authenticity", "product_line")

_VALUE_SETS: dict[LabelField, type[StrEnum]] = {
    LabelField.DEFECT_TYPE: DefectType,
    LabelField.AUTHENTICITY: Authenticity,
}


@dataclass(frozen=True)
class LabelMap:
    """A loaded, checked label map; `path` is kept so every error can name the file to edit."""

    field: LabelField
    mapping: dict[str, str | dict[str, str]]
    ignore: frozenset[str]
    path: Path

    def item_labels(self, name: str, where: str) -> dict[str, str] | None:
        """The item fields a source name fills (`field: item` maps name a mapping, the others one field)."""
        value = self.lookup(name, where)
        if value is None or isinstance(value, dict):
            return value
        return {self.field.value: value}

    def lookup(self, name: str, where: str) -> str | dict[str, str] | None:
        """The project value for a source name, or None if the map ignores it; `where` names the source file."""
        if name in self.mapping:
            return self.mapping[name]
        if name in self.ignore:
            return None
        known = sorted(self.mapping) + [f"{n} (ignored)" for n in sorted(self.ignore)]
        raise LabelMapError(
            f"{where}: label '{name}' is not in label map {self.path}; add it under 'map:' (or 'ignore:'). "
            f"Known names: {', '.join(known)}"
        )

    def defect_type(self, name: str, where: str) -> DefectType | None:
        """Like `lookup`, for maps whose field is defect_type."""
        self.require_field(LabelField.DEFECT_TYPE)
        value = self.lookup(name, where)
        return None if value is None else DefectType(value)

    def require_field(self, *fields: LabelField) -> None:
        if self.field not in fields:
            wanted = " or ".join(f"'field: {f.value}'" for f in fields)
            raise LabelMapError(f"{self.path}: this layout needs {wanted}, but the map says 'field: {self.field}'")


def load_label_map(path: Path) -> LabelMap:
    """Read and check a label map file; raises `LabelMapError` naming the file and the fix."""
    path = Path(path)
    if not path.is_file():
        raise LabelMapError(f"label map {path} does not exist; pass the path of a YAML file (see datasets/label_maps/)")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise LabelMapError(f"{path}: not valid YAML ({error})") from error
    if not isinstance(document, dict) or not isinstance(document.get("map"), dict):
        raise LabelMapError(f"{path}: a label map needs 'field:' and a 'map:' of source name -> value")
    label_field = _parse_field(document.get("field"), path)
    mapping = {str(name): _check_value(value, str(name), label_field, path) for name, value in document["map"].items()}
    ignore = frozenset(str(name) for name in document.get("ignore") or [])
    unknown_keys = set(document) - {"field", "map", "ignore"}
    if unknown_keys:
        raise LabelMapError(f"{path}: unknown keys {sorted(unknown_keys)}; a label map has field, map and ignore")
    return LabelMap(field=label_field, mapping=mapping, ignore=ignore, path=path)


def _parse_field(value: object, path: Path) -> LabelField:
    try:
        return LabelField(str(value))
    except ValueError:
        valid = ", ".join(f.value for f in LabelField)
        raise LabelMapError(f"{path}: 'field: {value}' is not one of {valid}") from None


def _check_value(value: object, name: str, label_field: LabelField, path: Path) -> str | dict[str, str]:
    if label_field is LabelField.ITEM:
        return _check_item_value(value, name, path)
    if not isinstance(value, str) or not value.strip():
        raise LabelMapError(f"{path}: '{name}' maps to {value!r}; give a non-empty {label_field.value} name")
    allowed = _VALUE_SETS.get(label_field)
    if allowed is not None and value not in {member.value for member in allowed}:
        valid = ", ".join(member.value for member in allowed)
        raise LabelMapError(f"{path}: '{name}: {value}' is not a valid {label_field.value}; use one of {valid}")
    return value


def _check_item_value(value: object, name: str, path: Path) -> dict[str, str]:
    example = "{category: shoes, authenticity: counterfeit, product_line: af1}"
    if not isinstance(value, dict) or not value:
        raise LabelMapError(f"{path}: '{name}' maps to {value!r}; with 'field: item' give a mapping such as {example}")
    unknown = sorted(set(map(str, value)) - set(ITEM_FIELDS))
    if unknown:
        raise LabelMapError(f"{path}: '{name}' sets {unknown}; an item label map sets {', '.join(ITEM_FIELDS)}")
    checked = {}
    for key, text in value.items():
        if key == LabelField.AUTHENTICITY.value:
            checked[str(key)] = _check_value(text, name, LabelField.AUTHENTICITY, path)
        else:
            checked[str(key)] = _text(text, name, path)
    return checked


def _text(value: object, name: str, path: Path) -> str:
    if not isinstance(value, str) or not value.strip():
        raise LabelMapError(f"{path}: '{name}' maps a field to {value!r}; give a non-empty name")
    return value
