"""An uploaded file kept in the database a megabyte at a time (``kernel_upload_parts``).

The import page's upload may be hundreds of megabytes: :func:`store` copies it from the
request's spooled file into parts of :data:`PART_BYTES`, one transaction, never holding more
than a part; :func:`open_upload` gives it back as a seekable binary file that fetches the part
it is reading (what :class:`kernel.filereading.SheetStream` streams rows from, in the web
process for a preview and in the worker that imports it). Like every stored file, it lives in
the database: any worker on any host reads it, and it goes with the upload's row.
"""

from __future__ import annotations

import hashlib
import io
from typing import TYPE_CHECKING, BinaryIO

import sqlalchemy as sa

from .models import UploadPart

if TYPE_CHECKING:
    from .site import Site

PARTS = UploadPart.__table__
PART_BYTES = 2**20


def store(conn: sa.Connection, upload_id: int, source: BinaryIO) -> tuple[int, str]:
    """Copy ``source`` (read to its end) into the parts of ``upload_id``; its size and SHA-256."""
    digest, size, seq = hashlib.sha256(), 0, 0
    while chunk := source.read(PART_BYTES):
        conn.execute(sa.insert(PARTS).values(upload_id=upload_id, seq=seq, data=chunk))
        digest.update(chunk)
        size += len(chunk)
        seq += 1
    return size, digest.hexdigest()


def open_upload(site: Site, upload_id: int, size: int) -> BinaryIO:
    """The stored file as a buffered, seekable binary file (a part fetched when reading reaches it)."""
    return io.BufferedReader(_Parts(site, upload_id, size), buffer_size=PART_BYTES)


class _Parts(io.RawIOBase):
    def __init__(self, site: Site, upload_id: int, size: int):
        self.site, self.upload_id, self.size = site, upload_id, size
        self.position = 0
        self.cached: tuple[int, bytes] | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.position >= self.size:
            return 0
        seq, offset = divmod(self.position, PART_BYTES)
        part = self._part(seq)
        taken = part[offset : offset + len(buffer)]
        buffer[: len(taken)] = taken
        self.position += len(taken)
        return len(taken)

    def _part(self, seq: int) -> bytes:
        if self.cached is None or self.cached[0] != seq:
            with self.site.engine.connect() as conn:
                data = conn.scalar(sa.select(PARTS.c.data).where(PARTS.c.upload_id == self.upload_id, PARTS.c.seq == seq))
            if data is None:
                raise OSError(f"upload {self.upload_id} lost its part {seq} (removed while being read)")
            self.cached = (seq, bytes(data))
        return self.cached[1]
