"""Photo storage behind one small interface: content-addressed by sha256, written durably.

`LocalPhotoStore` keeps photos in a folder (the default, one machine). A store for several instances
(S3-compatible) implements the same three methods; nothing else in the service touches files.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol


class PhotoNotFound(KeyError):
    """No photo with this sha256 in the store."""


class PhotoStore(Protocol):
    def put(self, data: bytes, sha256: str | None = None) -> str:
        """Store the bytes durably (they survive a crash once this returns) and return their sha256.

        `sha256` saves hashing again when the caller has just computed it from the same bytes.
        """

    def get(self, sha256: str) -> bytes:
        """The stored bytes, or `PhotoNotFound`."""

    def exists(self, sha256: str) -> bool: ...


class LocalPhotoStore:
    """`root/ab/abcdef…`: one file per distinct photo; storing the same bytes twice writes nothing new."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def put(self, data: bytes, sha256: str | None = None) -> str:
        digest = sha256 or hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_durably(path, data)
        return digest

    def get(self, sha256: str) -> bytes:
        path = self._path(sha256)
        if not path.is_file():
            raise PhotoNotFound(sha256)
        return path.read_bytes()

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).is_file()

    def path_of(self, sha256: str) -> Path:
        """Where the photo lives on disk (for manifests exported to training on the same machine)."""
        return self._path(sha256).resolve()

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise PhotoNotFound(sha256)
        return self.root / sha256[:2] / sha256


def _write_durably(path: Path, data: bytes) -> None:
    """Write a temporary file, fsync it, rename it into place, fsync the folder: all or nothing."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
