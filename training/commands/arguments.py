"""Argument types shared by commands: they reject bad input while parsing, with a message that says the fix."""

from __future__ import annotations

import argparse
from pathlib import Path


def existing_manifest(text: str) -> Path:
    """A manifest path that exists; argparse reports anything else and exits with status 2."""
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"manifest {path} does not exist; make one with `secondlook data import`")
    return path
