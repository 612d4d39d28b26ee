"""Uploads are judged by their content: a file must be what its extension says (an HTML page named x.png is
refused), the stored content type is the one the content shows, never the browser's, and every download is an
attachment the browser may not sniff."""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
import zlib
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from jixiao.documents import uploads
from jixiao.errors import ValidationFailed
from jixiao.testing import unique

YEAR = 2026
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
WORD_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
EXCEL_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
SLIDES_MAIN = "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"
INDICATORS = [
    {"level1": "产出", "level2": "数量指标", "name": "培训教师人次", "direction": "ge", "target_value": "1000",
     "unit": "人次", "weight": "50"},
    {"level1": "效益", "level2": "社会效益指标", "name": "受益学生人数", "direction": "ge", "target_value": "5000",
     "unit": "人", "weight": "30"},
    {"level1": "满意度", "level2": "服务对象满意度指标", "name": "参训教师满意度", "direction": "ge",
     "target_value": "90", "unit": "%", "weight": "10"},
]


# ---- Real files, built here ---------------------------------------------------------------------------------


def png() -> bytes:
    """A valid 1×1 greyscale PNG."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b"")


def archive(parts: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in parts.items():
            z.writestr(name, body)
    return buffer.getvalue()


def ooxml(main_type: str, part: str = "word/document.xml") -> bytes:
    """An Office Open XML package whose [Content_Types].xml names ``main_type`` for its main part."""
    return archive({
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
                               'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
                               f'<Override PartName="/{part}" ContentType="{main_type}"/></Types>',
        part: "<document/>"})


PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
GB18030_TEXT = "整改说明：已完成资金拨付，详见附件。".encode("gb18030")
SAMPLES = {  # a real file of each allowed type, and the content type the check must decide
    "整改报告.pdf": (PDF, "application/pdf"),
    "现场照片.png": (png(), "image/png"),
    "现场照片.jpg": (JPEG, "image/jpeg"),
    "现场照片.jpeg": (JPEG, "image/jpeg"),
    "动图.gif": (GIF, "image/gif"),
    "整改报告.docx": (ooxml(WORD_MAIN), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "台账.xlsx": (ooxml(EXCEL_MAIN, "xl/workbook.xml"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "汇报.pptx": (ooxml(SLIDES_MAIN, "ppt/presentation.xml"),
                "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    "电子公文.ofd": (archive({"OFD.xml": "<ofd:OFD/>", "Doc_0/Document.xml": "<ofd:Document/>"}), "application/ofd"),
    "旧文档.doc": (OLE2, "application/msword"),
    "旧表格.xls": (OLE2, "application/vnd.ms-excel"),
    "材料.zip": (archive({"说明.txt": "材料"}), "application/zip"),
    "说明.txt": ("整改说明".encode(), "text/plain; charset=utf-8"),
    "说明-国标.txt": (GB18030_TEXT, "text/plain; charset=gb18030"),
}


@pytest.mark.parametrize("filename", sorted(SAMPLES))
def test_each_allowed_type_is_accepted_by_its_content(filename):
    data, content_type = SAMPLES[filename]
    assert uploads.check_upload(filename, data) == content_type


@pytest.mark.parametrize("filename", sorted(SAMPLES))
def test_each_allowed_type_refuses_other_content_under_its_name(filename):
    suffix = Path(filename).suffix
    # Another allowed type's real content, renamed: never the type the name claims (OLE2 is both .doc and .xls).
    impostor = OLE2 if suffix not in (".doc", ".xls") else PDF
    for data in (HTML, impostor) if suffix != ".txt" else (b"abc\x00def", png()):
        with pytest.raises(ValidationFailed) as refused:
            uploads.check_upload(filename, data)
        assert uploads.KINDS[suffix].label in refused.value.fields["file"]


def test_office_packages_must_name_their_own_type():
    for filename, wrong in (("x.docx", ooxml(EXCEL_MAIN, "xl/workbook.xml")), ("x.xlsx", ooxml(WORD_MAIN)),
                            ("x.docx", archive({"word/document.xml": "<document/>"})),
                            ("x.docx", ooxml("application/vnd.ms-word.document.macroEnabled.main+xml")),
                            ("x.ofd", archive({"Doc_0/Document.xml": "<ofd:Document/>"}))):
        with pytest.raises(ValidationFailed) as refused:
            uploads.check_upload(filename, wrong)
        assert set(refused.value.fields) == {"file"}


def test_unknown_and_empty_files_are_refused():
    for filename, data, said in (("tool.exe", b"MZ\x90\x00", "不支持的文件类型"), ("noextension", PDF, "不支持的文件类型"),
                                 ("page.html", HTML, "不支持的文件类型"), ("empty.pdf", b"", "文件是空的")):
        with pytest.raises(ValidationFailed) as refused:
            uploads.check_upload(filename, data)
        assert said in refused.value.fields["file"]


def test_file_names_lose_folders_and_control_characters():
    assert uploads.safe_filename("C:\\Users\\张三\\整改\r\n报告.pdf") == "整改报告.pdf"
    assert uploads.safe_filename("../../etc/passwd") == "passwd"
    assert uploads.safe_filename("\x00") == "file"


# ---- Through the API: rectification evidence -----------------------------------------------------------------


def base(path: str = "", code: str = "431102") -> str:
    return f"/api/v1/tenants/{code}{path}"


def ok(response, status=200):
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:2000])
    return response.get_json()


@pytest.fixture
def notice(login) -> tuple[object, str]:
    """A rectification notice on a project of the unit's: (the unit, the notice's files URL)."""
    unit, finance = login("lingling_dept"), login("lingling_finance")
    pid = ok(unit.post(base("/projects"), json={
        "code": unique("UP"), "name": "上传检查项目", "year": YEAR, "kind": "project", "fund_type": "general_public",
        "is_new": False, "requested_amount": "600000.00"}), 201)["id"]
    ok(unit.put(base(f"/projects/{pid}/targets"), json={"overall_target": "完成培训", "indicators": INDICATORS}))
    ok(unit.post(base(f"/projects/{pid}/targets/submit")))
    ok(finance.post(base(f"/projects/{pid}/targets/review"), json={"decision": "approve"}))
    ok(finance.post(base(f"/projects/{pid}/budget"), json={
        "approved_amount": "500000", "version": finance.get(base(f"/projects/{pid}")).get_json()["version"]}))
    ids = [i["id"] for i in ok(unit.get(base(f"/projects/{pid}/targets")))["indicators"]]
    evaluation = ok(unit.post(base(f"/projects/{pid}/evaluations"), json={"kind": "self"}), 201)
    ok(unit.post(base(f"/evaluations/{evaluation['id']}/submit"), json={
        "executed_amount": "450000", "summary": "基本完成",
        "scores": [{"indicator_id": i, "actual_value": row["target_value"]} for i, row in zip(ids, INDICATORS, strict=True)]}))
    made = ok(finance.post(base(f"/projects/{pid}/rectifications"), json={
        "evaluation_id": evaluation["id"], "problems": ["资金支付偏慢"],
        "deadline": (date.today() + timedelta(days=20)).isoformat()}), 201)
    return unit, base(f"/rectifications/{made['id']}/files")


def send(user, url: str, data: bytes, filename: str, client_type: str = "application/octet-stream"):
    return user.post(url, data={"file": (io.BytesIO(data), filename, client_type)}, content_type="multipart/form-data")


def refused_file(response) -> str:
    assert response.status_code == 400, (response.status_code, response.get_data(as_text=True)[:500])
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed"
    return error["fields"]["file"]


def test_html_named_png_is_refused(notice):
    unit, files = notice
    said = refused_file(send(unit, files, HTML, "x.png", "image/png"))
    assert uploads.KINDS[".png"].label in said
    assert ok(unit.get(files)) == []


def test_a_real_png_is_kept_as_png_and_downloads_as_an_attachment(notice):
    unit, files = notice
    image, name = png(), "现场照片.png"
    stored = ok(send(unit, files, image, name, "text/html"), 201)  # the browser's claim is not believed
    assert (stored["content_type"], stored["size"], stored["sha256"]) == (
        "image/png", len(image), hashlib.sha256(image).hexdigest())
    download = unit.get(f"{files}/{stored['id']}")
    assert download.status_code == 200 and download.data == image
    assert download.mimetype == "image/png"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and f"filename*=UTF-8''{quote(name)}" in disposition


def test_word_documents_are_checked_inside_the_zip(notice):
    unit, files = notice
    said = refused_file(send(unit, files, archive({"word/document.xml": "<document/>"}), "整改报告.docx"))
    assert uploads.KINDS[".docx"].label in said
    docx = ooxml(WORD_MAIN)
    stored = ok(send(unit, files, docx, "整改报告.docx", "application/octet-stream"), 201)
    assert stored["content_type"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def test_text_evidence_must_be_text(notice):
    unit, files = notice
    stored = ok(send(unit, files, GB18030_TEXT, "整改说明.txt", "application/x-msdownload"), 201)
    assert stored["content_type"] == "text/plain; charset=gb18030"
    assert unit.get(f"{files}/{stored['id']}").data.decode("gb18030") == GB18030_TEXT.decode("gb18030")
    refused_file(send(unit, files, "整改说明".encode() + b"\x00\x01", "整改说明.txt", "text/plain"))


def test_programs_are_refused(notice):
    unit, files = notice
    assert "不支持的文件类型" in refused_file(send(unit, files, b"MZ\x90\x00\x03" + bytes(60), "tool.exe"))
    assert ok(unit.get(files)) == []


def test_a_file_stored_before_the_checks_is_not_served_as_what_it_claimed(app, notice):
    """An evidence row written with the browser's type (text/html) downloads as a plain byte stream."""
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.lifecycle.models import EvidenceFile
    from jixiao.tenancy import service as tenancy

    unit, files = notice
    notice_id = int(files.rstrip("/").split("/")[-2])
    with app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, "431102")
        folder = Path(app.instance_path) / "files" / str(tenant.id)
        folder.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(HTML).hexdigest()
        (folder / digest).write_bytes(HTML)
        with scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id)) as db:
            row = EvidenceFile(tenant_id=tenant.id, owner_type="rectification_notices", owner_id=notice_id,
                               filename="x.png", content_type="text/html", size=len(HTML), sha256=digest)
            db.add(row)
            db.commit()
            file_id = row.id
    download = unit.get(f"{files}/{file_id}")
    assert download.status_code == 200 and download.data == HTML
    assert download.mimetype == "application/octet-stream"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"


# ---- Spreadsheet imports and documents ---------------------------------------------------------------------


def test_a_spreadsheet_import_must_be_an_xlsx_workbook(login):
    unit = login("lingling_dept")
    # A zip with the parts an .xlsx has, but declaring a macro-enabled workbook: not an .xlsx.
    fake = ooxml("application/vnd.ms-excel.sheet.macroEnabled.main+xml", "xl/workbook.xml")
    said = refused_file(send(unit, base("/imports/projects"), fake, "项目清单.xlsx"))
    assert ".xlsx" in said


def test_generated_documents_download_as_attachments(login):
    from openpyxl import load_workbook

    unit = login("lingling_dept")
    # A list with a row that lacks everything but its code: refused, with an error report to download.
    template = load_workbook(io.BytesIO(unit.get(base("/imports/projects/template")).data))
    template["项目清单"]["A4"] = unique("UE")
    buffer = io.BytesIO()
    template.save(buffer)
    report_url = send(unit, base("/imports/projects"), buffer.getvalue(), "清单.xlsx").get_json()["error"]["fields"][
        "report_url"]
    download = unit.get(report_url)
    assert download.status_code == 200
    assert download.mimetype == uploads.XLSX
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert f"filename*=UTF-8''{quote('错误报告-清单.xlsx')}" in download.headers["Content-Disposition"]


# ---- Assessment evidence -----------------------------------------------------------------------------------


def test_assessment_evidence_is_checked_and_typed_by_content(app, login, create_user):
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.lifecycle.models import EvidenceFile
    from jixiao.tenancy import service as tenancy

    city = login("hengyang_finance")
    campaign = ok(city.post("/api/v1/tenants/430400/assessments", json={
        "year": 2031, "scheme": "hunan-city-counties", "deadline": (date.today() + timedelta(days=30)).isoformat()}),
        201)
    try:
        county = login(create_user("430405", roles=["finance"]))
        url = f"/api/v1/tenants/430405/assessment-results/{campaign['id']}/evidence"

        def post(data: bytes, filename: str, client_type: str):
            return county.post(url, data={"indicator": "E2", "file": (io.BytesIO(data), filename, client_type)},
                               content_type="multipart/form-data")

        assert uploads.KINDS[".png"].label in refused_file(post(HTML, "x.png", "image/png"))
        report = ok(post(PDF, "培训通知.pdf", "text/html"))
        (file_id,) = report["self_reports"]["E2"]["file_ids"]
        with app.app_context():
            with system_scope() as db:
                tenant = tenancy.get_by_code(db, "430405")
            with scoped(TenantScope(read_ids=(tenant.id,))) as db:
                stored = db.scalar(sa.select(EvidenceFile).where(EvidenceFile.id == file_id))
                assert (stored.content_type, stored.filename) == ("application/pdf", "培训通知.pdf")

        subjects = {s["code"]: s for s in ok(city.get(f"/api/v1/tenants/430400/assessments/{campaign['id']}/subjects"))}
        on_behalf = city.post(f"/api/v1/tenants/430400/assessments/{campaign['id']}/subjects/"
                              f"{subjects['430405']['id']}/evidence",
                              data={"indicator": "E1", "note": "实地核查", "file": (io.BytesIO(HTML), "核查照片.jpg")},
                              content_type="multipart/form-data")
        assert uploads.KINDS[".jpg"].label in refused_file(on_behalf)
    finally:
        read = ok(city.get(f"/api/v1/tenants/430400/assessments/{campaign['id']}"))
        ok(city.post(f"/api/v1/tenants/430400/assessments/{campaign['id']}/withdraw",
                     json={"reason": "测试结束", "version": read["version"]}))
