"""Files users send, judged by their content; files the platform sends back, always as downloads.

Every upload path (rectification evidence, assessment evidence, spreadsheet imports) calls
:func:`check_upload` before storing anything: the name's extension says what the file claims to be, and its
bytes must be that (a signature, or for the zip-based formats the part that names the format); the content
type stored with the file is the one the check decided, never the one the browser sent. So an HTML page
renamed ``x.png`` is refused instead of being stored and served back to a browser as an image (等保三级:
恶意代码防范 and 入侵防范, see docs/security.md).

Every download goes out through :func:`attachment`: ``Content-Disposition: attachment`` (with the RFC 5987
``filename*`` for Chinese names), ``X-Content-Type-Options: nosniff``, and only a content type these checks can
produce, so that nothing stored, even before these checks existed, is rendered inline by a browser.
"""

from __future__ import annotations

import dataclasses
import io
import unicodedata
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import IO

from flask import Response, send_file

from jixiao.errors import ValidationFailed

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
OFD = "application/ofd"
OCTET_STREAM = "application/octet-stream"
TEXT_UTF8 = "text/plain; charset=utf-8"
TEXT_GB18030 = "text/plain; charset=gb18030"

ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")  # an archive with entries, an empty archive
OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Word 97-2003 .doc, Excel 97-2003 .xls
# The main part's content type that [Content_Types].xml must name: a macro-enabled .docm renamed .docx
# names another type and is refused.
OOXML_MAIN = {
    ".docx": b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    ".xlsx": b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    ".pptx": b"application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
}
# [Content_Types].xml lists a few dozen parts; more than this unpacked is not one.
CONTENT_TYPES_LIMIT = 1024 * 1024


def _starts(*signatures: bytes) -> Callable[[bytes], bool]:
    return lambda data: data.startswith(signatures)


def _archive(data: bytes) -> zipfile.ZipFile | None:
    if not data.startswith(ZIP_SIGNATURES):
        return None
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError):
        return None


def read_part(archive: zipfile.ZipFile, name: str, limit: int = CONTENT_TYPES_LIMIT) -> bytes | None:
    """The first ``limit`` bytes of one part of an archive, or None when it is missing or unreadable."""
    try:
        with archive.open(name) as part:
            return part.read(limit)
    except (KeyError, zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, ValueError):
        return None  # RuntimeError: encrypted; NotImplementedError: a compression zipfile cannot read


def ooxml_declares(archive: zipfile.ZipFile, main_type: bytes) -> bool:
    """Does the package's [Content_Types].xml name ``main_type`` (e.g. the .docx main document's type)?"""
    declared = read_part(archive, "[Content_Types].xml")
    return declared is not None and main_type in declared


def _ooxml(suffix: str) -> Callable[[bytes], bool]:
    def check(data: bytes) -> bool:
        archive = _archive(data)
        return archive is not None and ooxml_declares(archive, OOXML_MAIN[suffix])

    return check


def _ofd(data: bytes) -> bool:
    # GB/T 33190: an OFD package is a zip whose entry file OFD.xml sits at its root.
    archive = _archive(data)
    return archive is not None and "OFD.xml" in archive.namelist()


def _zip(data: bytes) -> bool:
    return _archive(data) is not None


def text_encoding(data: bytes) -> str | None:
    """``utf-8`` or ``gb18030`` when the bytes are text in one of them (no NUL byte), else None."""
    if b"\x00" in data:
        return None  # UTF-16 and every binary format have NULs; no text file a clerk writes does
    for encoding in ("utf-8", "gb18030"):
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    return None


@dataclasses.dataclass(frozen=True)
class Kind:
    label: str  # what the file must be, as a clerk says it
    content_type: str
    matches: Callable[[bytes], bool]


KINDS: dict[str, Kind] = {
    ".pdf": Kind("PDF 文件", PDF, _starts(b"%PDF-")),
    ".png": Kind("PNG 图片", "image/png", _starts(b"\x89PNG\r\n\x1a\n")),
    ".jpg": Kind("JPEG 图片", "image/jpeg", _starts(b"\xff\xd8\xff")),
    ".jpeg": Kind("JPEG 图片", "image/jpeg", _starts(b"\xff\xd8\xff")),
    ".gif": Kind("GIF 图片", "image/gif", _starts(b"GIF87a", b"GIF89a")),
    ".docx": Kind("Word 文档（.docx）", DOCX, _ooxml(".docx")),
    ".xlsx": Kind("Excel 工作簿（.xlsx）", XLSX, _ooxml(".xlsx")),
    ".pptx": Kind("PowerPoint 演示文稿（.pptx）", PPTX, _ooxml(".pptx")),
    ".ofd": Kind("OFD 版式文件", OFD, _ofd),
    ".doc": Kind("Word 97-2003 文档（.doc）", "application/msword", _starts(OLE2_SIGNATURE)),
    ".xls": Kind("Excel 97-2003 工作簿（.xls）", "application/vnd.ms-excel", _starts(OLE2_SIGNATURE)),
    ".zip": Kind("ZIP 压缩包", "application/zip", _zip),
    ".txt": Kind("UTF-8 或 GB18030 编码的纯文本文件", TEXT_UTF8, lambda data: text_encoding(data) is not None),
}
ALLOWED_EXTENSIONS = frozenset(KINDS)
# What a download may be served as: the types the checks decide, and the platform's own PDFs and workbooks.
SERVED_TYPES = frozenset({kind.content_type for kind in KINDS.values()} | {TEXT_GB18030})


def refuse(message: str) -> ValidationFailed:
    return ValidationFailed(message, fields={"file": message})


def safe_filename(filename: str | None, default: str = "file") -> str:
    """The name without any folder (a Windows path too) or control character, at most 255 characters."""
    name = PureWindowsPath(PurePosixPath(filename or "").name).name
    name = "".join(ch for ch in name if unicodedata.category(ch) != "Cc").strip()
    return name[:255] or default


def check_upload(filename: str, data: bytes) -> str:
    """The content type of an upload whose bytes are what its extension says; else :class:`ValidationFailed`
    naming the field ``file`` and the type that was expected."""
    suffix = Path(safe_filename(filename, "")).suffix.lower()
    kind = KINDS.get(suffix)
    if kind is None:
        raise refuse(f"不支持的文件类型（{suffix or '无扩展名'}）；可上传 {'、'.join(sorted(ALLOWED_EXTENSIONS))}")
    if not data:
        raise refuse("文件是空的")
    if not kind.matches(data):
        raise refuse(f"文件内容与扩展名不符：扩展名为 {suffix} 的文件应是{kind.label}，“{safe_filename(filename)}”不是；"
                     "请上传原始文件，不要只修改扩展名")
    if suffix == ".txt" and text_encoding(data) == "gb18030":
        return TEXT_GB18030
    return kind.content_type


def served_type(content_type: str | None) -> str:
    """The type to serve a stored file as: one the checks can produce, else a plain byte stream."""
    return content_type if content_type in SERVED_TYPES else OCTET_STREAM


def attachment(source: Path | bytes | IO[bytes], filename: str, content_type: str | None, *,
               etag: str | None = None) -> Response:
    """A stored or generated file as a download, never shown inline nor sniffed by the browser."""
    body = io.BytesIO(source) if isinstance(source, bytes) else source
    # Without one of ours, etag=True is send_file's default: it derives one from the file.
    response = send_file(body, mimetype=served_type(content_type), as_attachment=True,
                         download_name=safe_filename(filename, "download"), etag=etag or True)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
