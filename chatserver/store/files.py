"""Attachments' bytes in a directory (`ATTACHMENTS_DIR`) instead of the database, for either
backend: the row (its name in `attachments.file`) is committed first, then the file written
and synced, so every file on disk has had a row; `sweep` deletes the files no row names any
more (after an erase), listing the directory before reading the names, so a file written
meanwhile is never taken for an orphan. Several servers need the directory shared."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from pathlib import Path


class FileDir:
    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)

    @staticmethod
    def new_name() -> str:
        return secrets.token_hex(16)

    def put(self, name: str, data: bytes) -> None:
        """Durable before it returns: written, synced, renamed into place, directory synced."""
        partial = self.path / f".{name}.part"
        with open(partial, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, self.path / name)
        self._sync_directory()

    def get(self, name: str) -> bytes | None:
        try:
            return (self.path / name).read_bytes()
        except FileNotFoundError:
            return None

    def names(self) -> set[str]:
        return {p.name for p in self.path.iterdir() if not p.name.startswith(".")}

    def remove(self, names: Iterable[str]) -> None:
        for name in names:
            (self.path / name).unlink(missing_ok=True)
        self._sync_directory()

    def _sync_directory(self) -> None:
        descriptor = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
