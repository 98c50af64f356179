"""A local folder as a Source: the listing and capped reads of tasks.sources.discover."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tasks.models import FileRef, Rejection
from tasks.sources.discover import Found, read_file, scan


@dataclass(frozen=True, slots=True)
class LocalSource:
    root: Path
    skip: tuple[Path, ...] = ()  # folders never listed (the warehouse, when it lies inside the source)

    @property
    def location(self) -> str:
        return str(self.root)

    def scan(self) -> Iterator[Found]:
        return scan(self.root, skip=self.skip)

    def read(self, ref: FileRef, *, max_bytes: int) -> bytes | Rejection:
        return read_file(self.root, ref, max_bytes=max_bytes)
