"""Layout options: `--option KEY=VALUE` strings (or catalog values) parsed into a typed dataclass per layout."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any, TypeVar, get_type_hints

from training.importers.errors import LayoutError

OptionsT = TypeVar("OptionsT")


def parse_options(cls: type[OptionsT], given: Mapping[str, Any], layout: str) -> OptionsT:
    """Build the options dataclass `cls`; an unknown key or bad value raises `LayoutError` listing the valid ones."""
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = set(given) - set(fields)
    if unknown:
        raise LayoutError(f"unknown option(s) {sorted(unknown)} for layout {layout}; valid: {sorted(fields) or 'none'}")
    hints = get_type_hints(cls)
    return cls(**{name: _coerce(value, hints[name], name, layout) for name, value in given.items()})


def _coerce(value: Any, kind: type, name: str, layout: str) -> Any:
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        try:
            return kind(str(value))
        except ValueError:
            valid = ", ".join(str(member.value) for member in kind)
            raise LayoutError(f"option {name}={value} for layout {layout}: use one of {valid}") from None
    if kind is bool:
        if str(value).lower() in ("1", "true", "yes"):
            return True
        if str(value).lower() in ("0", "false", "no"):
            return False
        raise LayoutError(f"option {name}={value} for layout {layout}: use true or false")
    return str(value) if value is not None else None


def split_option(text: str) -> tuple[str, str]:
    """`KEY=VALUE` from the command line into a pair."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise LayoutError(f"--option {text!r}: write it as KEY=VALUE, e.g. --option masks=class_index")
    return key.strip(), value.strip()
