"""Versioned YAML configuration files (grade policy, pricing) read into strict pydantic models.

A file that does not validate raises the caller's error class with one line per problem, each naming the
file, the dotted field path and what to fix, e.g.
``grading/policies/x.yaml: severity.type_weight.stian: unknown value 'stian'; known: 'stain', 'hole', ...``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Config = TypeVar("Config", bound=BaseModel)
Value = TypeVar("Value")


def load_config(path: Path, model: type[Config], error: type[ValueError]) -> Config:
    """Read and validate one YAML file; raise `error` naming the file, the field and the fix."""
    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: file not found; pass the path of an existing YAML file.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as problem:
        raise error(f"{path}: not UTF-8 text ({problem}); save the file as UTF-8.") from problem
    except yaml.YAMLError as problem:
        raise error(f"{path}: not valid YAML ({problem}); fix the syntax at the position shown.") from problem
    if not isinstance(data, dict):
        raise error(f"{path}: expected a mapping of fields at the top level, got {type(data).__name__}.")
    try:
        return model.model_validate(data)
    except ValidationError as problem:
        raise error("\n".join(_describe(path, detail) for detail in problem.errors())) from problem


def _describe(path: Path, detail: dict[str, Any]) -> str:
    location = ".".join(str(part) for part in detail["loc"] if part != "[key]")
    return f"{path}: {location}: {_advice(detail)}" if location else f"{path}: {_advice(detail)}"


def _advice(detail: dict[str, Any]) -> str:
    kind, context = detail["type"], detail.get("ctx", {})
    if kind == "enum":
        return f"unknown value {detail['input']!r}; known: {context.get('expected')}"
    if kind == "extra_forbidden":
        return "unknown field; remove it or correct its spelling"
    if kind == "missing":
        return "required field is missing; add it"
    message = str(detail["msg"]).removeprefix("Value error, ")
    return f"{message} (got {detail['input']!r})" if kind != "value_error" else message


def lowercase_keys(mapping: dict[str, Value]) -> dict[str, Value]:
    """Keys lowercased so `Shoes:` matches the lowercase names items carry; refuse two spellings of one key."""
    lowered: dict[str, Value] = {}
    for key, value in mapping.items():
        if key.lower() in lowered:
            raise ValueError(f"{key!r} appears twice when case is ignored; keep one spelling")
        lowered[key.lower()] = value
    return lowered
