"""What the spreadsheet pages and endpoints share: the workbook a request uploads, and a workbook as the answer."""

from __future__ import annotations

from typing import Any

from flask import request

from jixiao.documents import uploads
from jixiao.errors import ValidationFailed
from jixiao.spreadsheets import xlsx


def upload() -> tuple[bytes, str]:
    """The uploaded file's bytes and name (multipart field ``file``)."""
    item = request.files.get("file")
    if item is None:
        raise ValidationFailed("请选择要上传的 Excel 文件（表单字段 file）", fields={"file": "请选择要上传的 Excel 文件"})
    return item.read(), (item.filename or "上传文件.xlsx")


def xlsx_response(data: bytes, filename: str) -> Any:
    response = uploads.attachment(data, filename, xlsx.XLSX_MIMETYPE)
    response.headers["Cache-Control"] = "private, no-store"
    return response
