"""Files over HTTP (:mod:`kernel.files`): reading one multipart upload, answering one file safely."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from ..errors import ValidationError
from ..files import INLINE_TYPES

if TYPE_CHECKING:
    from ..files import FileInfo


async def read_upload(request: Request, field: str) -> UploadFile:
    """The file sent in the multipart form field ``field``, or a 422 naming it."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ValidationError.at(["header", "content-type"], f"send the file as multipart/form-data, in the field {field!r}")
    form = await request.form()
    upload = form.get(field)
    if not isinstance(upload, UploadFile):
        raise ValidationError.at(["body", field], "must be a file")
    return upload


def file_response(info: FileInfo, data: bytes) -> Response:
    """The file's bytes with the type read from them: inline for raster images, a download otherwise;
    never sniffed again by the browser, never run as a page."""
    disposition = "inline" if info.content_type in INLINE_TYPES else "attachment"
    ascii_name = info.filename.encode("ascii", "replace").decode().replace('"', "'")
    headers = {
        "Content-Disposition": f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(info.filename)}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
        "Cache-Control": "private, max-age=0, must-revalidate",
        "ETag": f'"{info.sha256[:32]}"',
    }
    return Response(data, media_type=info.content_type, headers=headers)
