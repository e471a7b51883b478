"""Files attached to records: a contract on a deal, a business card on a contact, a screenshot on a request.

Where they live: in the database (``kernel_files``), not on disk. A file is written in
the same transaction as its audit entry, every worker and host sees it without a
shared folder, ``crm backup`` (and a tenant's export) carries it with no extra step,
and the two databases behave alike. The price is database size, which the cap keeps
in bounds: ``[crm] file_max_bytes`` (default 10 MB a file) — the sizes of contracts,
photos and scans, not of videos.

What a file is, is read from its bytes (``puremagic``), never taken from the browser:
the stored type is the sniffed one (text that decodes as UTF-8 is ``text/plain``,
anything unknown ``application/octet-stream``), and programs are refused whatever
their name. Raster images are served inline (previews); everything else as a download,
always with ``nosniff`` and a sandboxing CSP. A ``scan_file`` hook may refuse a file
(an antivirus bridge), before anything is stored.

Who may do what follows the record: whoever may read it lists and downloads its files;
attaching needs the record's ``update`` right; removing needs ``update`` too (or being
the one who attached it). Each attach and removal is in the record's history. A deleted
record keeps its files in the recycle bin, and they come back with it; they are removed
when the bin purges it.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

import puremagic
import sqlalchemy as sa

from . import audit
from .errors import Forbidden, NotFound, ValidationError
from .models import StoredFile, TrashEntry

if TYPE_CHECKING:
    from .records import Actor
    from .site import Site

FILES = StoredFile.__table__
DEFAULT_MAX_BYTES = 10 * 2**20
NAME_MAX = 200
#: Sniffed types refused whatever the file is called: programs and libraries.
REFUSED_TYPES = frozenset({
    "application/vnd.microsoft.portable-executable", "application/x-msdownload", "application/x-dosexec",
    "application/x-executable", "application/x-elf", "application/x-sharedlib", "application/x-mach-binary",
    "application/x-msi", "application/java-archive", "application/x-java-archive",
})
#: Served inline (a preview in the page); every other type is a download.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
_LISTED = [c for c in FILES.columns if c.name != "data"]


@dataclass(frozen=True)
class FileInfo:
    """A stored file, without its bytes."""

    id: int
    entity: str
    record_id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime
    created_by: int | None

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def sniff(data: bytes, filename: str) -> str:
    """The content type of ``data``, read from its bytes; the name only ranks look-alikes (zip-based formats)."""
    try:
        found = puremagic.magic_string(data[:8192], filename)
    except (puremagic.PureError, ValueError):
        found = []
    if found and found[0].mime_type:
        return str(found[0].mime_type)
    if b"\x00" not in data[:8192]:
        try:
            data[:8192].decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < 8192 - 4:  # not merely a character cut at the sample's end
                return "application/octet-stream"
        return "text/csv" if filename.lower().endswith(".csv") else "text/plain"
    return "application/octet-stream"


def clean_name(filename: str) -> str:
    """A file name safe to store and to send back: no folders, no control characters, at most 200 characters."""
    name = PurePath(filename.replace("\\", "/")).name
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C").strip(" .")
    if not name:
        raise ValidationError.at(["file", "filename"], "must name the file")
    if len(name) > NAME_MAX:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: NAME_MAX - len(ext) - 1] + dot + ext) if dot and len(ext) < 20 else name[:NAME_MAX]
    return name


def max_bytes(site: Site) -> int:
    return int(getattr(site.settings, "file_max_bytes", DEFAULT_MAX_BYTES))


def attach(site: Site, actor: Actor, entity: str, record_id: Any, filename: str, data: bytes) -> FileInfo:
    """Store ``data`` as a file of the record, in one transaction with its history entry."""
    limit = max_bytes(site)
    if not data:
        raise ValidationError.at(["file"], "is empty")
    if len(data) > limit:
        raise ValidationError.at(["file"], f"is {len(data):,} bytes; files may have at most {limit:,}")
    name = clean_name(filename)
    content_type = sniff(data, name)
    if content_type in REFUSED_TYPES:
        raise ValidationError.at(["file"], f"is a program ({content_type}); programs cannot be attached")
    for reason in site.view.pm.hook.scan_file(site=site, filename=name, content_type=content_type, data=data):
        if reason:
            raise ValidationError.at(["file"], f"was refused by the file scan: {reason}")
    now = site.clock.now()
    with site.write() as conn:
        record = _record(site, conn, actor, entity, record_id, "update")
        row = {"entity": entity, "record_id": record["id"], "filename": name, "content_type": content_type, "size": len(data),
               "sha256": hashlib.sha256(data).hexdigest(), "data": data, "created_at": now, "created_by": actor.user_id}
        file_id = conn.execute(sa.insert(FILES).values(row).returning(FILES.c.id)).scalar_one()
        audit.add_entry(conn, actor, entity, record["id"], "file_added", {"file": [None, {"id": file_id, "filename": name, "size": len(data)}]}, at=now)
    return FileInfo(file_id, entity, record["id"], name, content_type, len(data), row["sha256"], now, actor.user_id)


def files_of(site: Site, actor: Actor, entity: str, record_id: Any) -> list[FileInfo]:
    """The record's files, newest first (the record must be readable)."""
    with site.engine.connect() as conn:
        record = _record(site, conn, actor, entity, record_id, "read")
        rows = conn.execute(sa.select(*_LISTED).where(FILES.c.entity == entity, FILES.c.record_id == record["id"]).order_by(FILES.c.id.desc()))
        return [FileInfo(**row._mapping) for row in rows]


def read(site: Site, actor: Actor, entity: str, record_id: Any, file_id: int) -> tuple[FileInfo, bytes]:
    """One file and its bytes, if the record is readable and the file is the record's."""
    with site.engine.connect() as conn:
        record = _record(site, conn, actor, entity, record_id, "read")
        row = conn.execute(sa.select(FILES).where(FILES.c.id == file_id, FILES.c.entity == entity, FILES.c.record_id == record["id"])).first()
    if row is None:
        raise NotFound(f"{entity} record {record['id']} has no file {file_id}")
    values = dict(row._mapping)
    data = values.pop("data")
    return FileInfo(**values), bytes(data)


def remove(site: Site, actor: Actor, entity: str, record_id: Any, file_id: int) -> None:
    """Delete one file of the record: its uploader or whoever may update the record; in the record's history."""
    now = site.clock.now()
    with site.write() as conn:
        record = _record(site, conn, actor, entity, record_id, "read")
        row = conn.execute(sa.select(*_LISTED).where(FILES.c.id == file_id, FILES.c.entity == entity, FILES.c.record_id == record["id"])).first()
        if row is None:
            raise NotFound(f"{entity} record {record['id']} has no file {file_id}")
        if row.created_by != actor.user_id and not _may_update(site, conn, actor, entity, record):
            raise Forbidden(f"you may not remove files of {entity} record {record['id']}")
        conn.execute(sa.delete(FILES).where(FILES.c.id == file_id))
        audit.add_entry(conn, actor, entity, record["id"], "file_removed", {"file": [{"id": file_id, "filename": row.filename, "size": row.size}, None]}, at=now)


def remove_binned(conn: sa.Connection, which: sa.ColumnElement[bool]) -> None:
    """Delete the files of the records in the recycle bin that ``which`` (a condition on ``kernel_trash``)
    selects: they are being purged for good. A binned record keeps its files until then."""
    trash = TrashEntry.__table__
    binned = sa.select(trash.c.id).where(which, trash.c.entity == FILES.c.entity, trash.c.record_id == FILES.c.record_id)
    conn.execute(sa.delete(FILES).where(binned.exists()))


def _record(site: Site, conn: sa.Connection, actor: Actor, entity: str, record_id: Any, need: str) -> dict[str, Any]:
    record = site.records.get(actor, entity, record_id, conn=conn)  # 404 for a record the actor cannot see
    if need == "update":
        site.records.authorize(actor, entity, "update", record)
        if not site.records.writable(actor, entity, record["id"], conn=conn):
            raise Forbidden(f"you may not attach files to {entity} record {record['id']}")
    return record


def _may_update(site: Site, conn: sa.Connection, actor: Actor, entity: str, record: dict[str, Any]) -> bool:
    try:
        _record(site, conn, actor, entity, record["id"], "update")
    except Forbidden:
        return False
    return True
