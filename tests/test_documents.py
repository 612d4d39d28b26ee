"""Generated PDFs: evaluation report, rectification notice, yearly statistics report, ranking notice.

Each is generated through the API on the demo data by a job (embedded mode: the job has run when the answer
comes), stored, listed on its record and downloadable. The proof that the Chinese is really there is not the
extracted text (a PDF of empty boxes extracts fine) but ``pdffonts`` showing an embedded Noto Sans CJK font, and
page 1 rendered to pixels. Renders are few: WeasyPrint's first one builds a font cache (~17 s on a cold machine).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from urllib.parse import quote

import pytest

from jixiao.testing import api_login
from tests.test_audit_and_api import make_app_like

LINGLING = "/api/v1/tenants/431102"


def need(binary: str) -> str:
    """The poppler tool's path; skipped without it on a developer's machine, a failure in CI."""
    path = shutil.which(binary)
    if path is None:
        message = f"{binary} (poppler-utils) is not installed"
        if os.environ.get("CI"):
            pytest.fail(f"{message}: CI must check the PDFs' fonts and pixels")
        pytest.skip(message)
    return path


def embedded_fonts(pdf_path: Path) -> list[dict[str, str]]:
    """``pdffonts`` parsed by the columns its dashed rule marks out (font names may contain spaces)."""
    output = subprocess.run([need("pdffonts"), str(pdf_path)], check=True, capture_output=True, text=True).stdout
    lines = output.splitlines()
    header, rule = lines[0], lines[1]
    spans, start = [], 0
    for part in rule.split(" "):
        spans.append((start, start + len(part)))
        start += len(part) + 1
    names = [header[a:b].strip() for a, b in spans]
    return [{name: line[a:b].strip() for name, (a, b) in zip(names, spans, strict=True)} for line in lines[2:] if line.strip()]


def assert_cjk_font_embedded(pdf_path: Path) -> None:
    fonts = embedded_fonts(pdf_path)
    cjk = [f for f in fonts if "Noto-Sans-CJK-SC" in f["name"].replace(" ", "-")]
    assert cjk, fonts
    assert all(f["emb"] == "yes" for f in cjk), fonts
    # Every font in the file is embedded (nothing left for the reader's machine to substitute).
    assert all(f["emb"] == "yes" for f in fonts), fonts


def read_pgm(path: Path) -> tuple[int, int, bytes]:
    """A binary PGM (P5) as (width, height, pixels): the format is a short text header and the bytes."""
    data = path.read_bytes()
    fields, position = [], 0
    while len(fields) < 4:
        while data[position:position + 1].isspace():
            position += 1
        if data[position:position + 1] == b"#":
            position = data.index(b"\n", position) + 1
            continue
        end = position
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[position:end])
        position = end
    assert fields[0] == b"P5", fields[0]
    width, height, maxval = int(fields[1]), int(fields[2]), int(fields[3])
    assert maxval == 255
    pixels = data[position + 1:position + 1 + width * height]
    assert len(pixels) == width * height
    return width, height, pixels


def render_page(pdf_path: Path, out_dir: Path, name: str) -> tuple[Path, Path]:
    """Page 1 at 60 dpi, as PNG (to look at) and as grey PGM (to count pixels)."""
    pdftoppm = need("pdftoppm")
    png_root, pgm_root = out_dir / f"{name}", out_dir / f"{name}-gray"
    subprocess.run([pdftoppm, "-r", "60", "-png", "-f", "1", "-l", "1", "-singlefile", str(pdf_path), str(png_root)],
                   check=True)
    subprocess.run([pdftoppm, "-r", "60", "-gray", "-f", "1", "-l", "1", "-singlefile", str(pdf_path), str(pgm_root)],
                   check=True)
    return png_root.with_suffix(".png"), pgm_root.with_suffix(".pgm")


# ---- Generating the three record PDFs once for the whole module --------------------------------------------


@pytest.fixture(scope="module")
def embedded(jixiao_app):
    """Jobs run in-process (even when the suite runs with Redis), so a 202 answer carries a finished job."""
    return make_app_like(jixiao_app, REDIS_URL=None)


@pytest.fixture(scope="module")
def finance(embedded):
    return api_login(embedded, "lingling_finance")


def generate(client, url: str) -> dict:
    response = client.post(url)
    assert response.status_code == 202, response.get_json()
    job = response.get_json()
    assert job["status"] == "succeeded", job
    assert job["queue"] == "documents"
    assert set(job["result"]) == {"document_id", "url"}
    return job


@pytest.fixture(scope="module")
def generated(finance, tmp_path_factory):
    """The evaluation report, the rectification notice and the statistics report of Lingling (431102)."""
    folder = tmp_path_factory.mktemp("pdf")
    evaluations = finance.get(f"{LINGLING}/evaluations?status=submitted").get_json()
    evaluation = next((e for e in evaluations if e["findings"]), evaluations[0])
    notices = finance.get(f"{LINGLING}/rectifications").get_json()
    assert evaluations and notices, "the demo data has submitted evaluations and notices"
    notice = notices[0]
    year = finance.get(f"{LINGLING}/statistics").get_json()["year"]
    made = {
        "evaluation": (generate(finance, f"{LINGLING}/evaluations/{evaluation['id']}/report"),
                       "evaluations", evaluation["id"]),
        "notice": (generate(finance, f"{LINGLING}/rectifications/{notice['id']}/notice-pdf"),
                   "rectification_notices", notice["id"]),
        "statistics": (generate(finance, f"{LINGLING}/statistics/report?year={year}"),
                       "tenants", None),
    }
    result = {}
    for name, (job, owner_type, owner_id) in made.items():
        response = finance.get(job["result"]["url"])
        assert response.status_code == 200
        path = folder / f"{name}.pdf"
        path.write_bytes(response.data)
        result[name] = {"job": job, "owner_type": owner_type, "owner_id": owner_id, "path": path,
                        "response": response, "evaluation": evaluation, "notice": notice, "year": year}
    return result


@pytest.mark.parametrize("name", ["evaluation", "notice", "statistics"])
def test_each_pdf_is_listed_on_its_record_and_downloadable(finance, generated, name):
    made = generated[name]
    job, document_id = made["job"], made["job"]["result"]["document_id"]
    owner_id = made["owner_id"]
    if owner_id is None:  # the statistics report belongs to the tenant
        owner_id = next(d["owner_id"] for d in finance.get(f"{LINGLING}/documents?owner_type=tenants").get_json())
    listed = finance.get(f"{LINGLING}/documents?owner_type={made['owner_type']}&owner_id={owner_id}").get_json()
    assert document_id in [d["id"] for d in listed]
    document = next(d for d in listed if d["id"] == document_id)
    assert document["url"] == job["result"]["url"] == f"{LINGLING}/documents/{document_id}/download"
    assert document["job_id"] == job["id"] and document["content_type"] == "application/pdf"

    response = made["response"]
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-") and len(response.data) == document["size"]
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''" + quote(document["filename"]) in disposition
    expected = {"evaluation": "绩效评价报告-", "notice": "整改通知书-", "statistics": "年度预算绩效管理统计报告-431102"}
    assert expected[name] in document["filename"] and document["filename"].endswith(".pdf")


@pytest.mark.parametrize("name", ["evaluation", "notice", "statistics"])
def test_each_pdf_embeds_the_chinese_font(generated, name):
    assert_cjk_font_embedded(generated[name]["path"])


def test_the_evaluation_reports_first_page_shows_dark_text_where_the_title_is(generated, tmp_path):
    """Page 1 as pixels: not blank, with ink in the header band and the title band. (The PNG is kept next to
    the PGM so a developer can look at it: it must show the bureau's name and the title in Chinese.)"""
    png, pgm = render_page(generated["evaluation"]["path"], tmp_path, "evaluation-page1")
    assert png.read_bytes().startswith(b"\x89PNG")
    width, height, pixels = read_pgm(pgm)
    assert abs(width - 496) <= 1 and abs(height - 702) <= 1, (width, height)  # A4 at 60 dpi
    dark = sum(1 for p in pixels if p < 128)
    assert 0.01 < dark / len(pixels) < 0.5, dark / len(pixels)

    def ink(top: float, bottom: float) -> int:
        rows = pixels[int(height * top) * width:int(height * bottom) * width]
        return sum(1 for p in rows if p < 160)

    assert ink(0.03, 0.09) > 50  # the running header: 「零陵区财政局」 and the report's kind
    assert ink(0.09, 0.20) > 500  # the title, two lines of 18pt bold
    assert ink(0.94, 0.99) > 20  # the page number "第 1 页 共 N 页"
    if os.environ.get("JIXIAO_KEEP_PAGE"):
        shutil.copy(png, os.environ["JIXIAO_KEEP_PAGE"])


def test_the_text_is_there_too(generated):
    """Not a proof of the glyphs (see the font test), but the right words in the right places."""
    pdftotext = need("pdftotext")
    text = {name: subprocess.run([pdftotext, "-layout", str(made["path"]), "-"], check=True, capture_output=True,
                                 text=True).stdout for name, made in generated.items()}
    evaluation, notice = generated["evaluation"]["evaluation"], generated["notice"]["notice"]
    assert "零陵区财政局" in text["evaluation"] and "绩效评价报告" in text["evaluation"]
    assert re.search(r"第\s*1\s*页\s*共\s*\d+\s*页", text["evaluation"])
    assert str(evaluation["total_score"]) in text["evaluation"]
    assert "内部意见" not in text["evaluation"]
    assert "整改期限" in text["notice"] and "特此通知" in text["notice"]
    assert notice["problems"][0][:8] in text["notice"].replace("\n", "")
    assert "总体情况" in text["statistics"] and "问题整改" in text["statistics"]


def test_metadata_dates_come_from_the_record(generated):
    """The PDF's creation date is the evaluation's submission (in the bureau's time zone), not the clock."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    submitted = datetime.fromisoformat(generated["evaluation"]["evaluation"]["submitted_at"])
    local = submitted.astimezone(ZoneInfo("Asia/Shanghai")).replace(microsecond=0)
    info = subprocess.run([need("pdfinfo"), "-isodates", str(generated["evaluation"]["path"])], check=True,
                          capture_output=True, text=True).stdout
    dates = {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in info.splitlines()
             if line.startswith(("CreationDate", "ModDate"))}
    assert dates["CreationDate"].startswith(local.strftime("%Y-%m-%dT%H:%M:%S")), (dates, local)
    assert dates["ModDate"] == dates["CreationDate"]


# ---- Idempotency, permissions, isolation --------------------------------------------------------------------


def test_generating_again_gives_the_same_document(finance, generated):
    made = generated["evaluation"]
    again = generate(finance, f"{LINGLING}/evaluations/{made['owner_id']}/report")
    assert again["id"] != made["job"]["id"]
    assert again["result"] == made["job"]["result"]
    listed = finance.get(f"{LINGLING}/documents?owner_type=evaluations&owner_id={made['owner_id']}").get_json()
    assert [d["id"] for d in listed if d["kind"] == "evaluation_report"].count(again["result"]["document_id"]) == 1


def test_another_tenant_cannot_list_download_or_see_the_job(embedded, generated):
    heshan = api_login(embedded, "heshan_finance")
    made = generated["evaluation"]
    document_id, job_id = made["job"]["result"]["document_id"], made["job"]["id"]
    assert heshan.get(f"{LINGLING}/documents").status_code == 404
    assert heshan.get(f"{LINGLING}/documents?owner_type=evaluations&owner_id={made['owner_id']}").status_code == 404
    assert heshan.get(made["job"]["result"]["url"]).status_code == 404
    # Through its own tenant's URL the document does not exist either.
    assert heshan.get(f"/api/v1/tenants/430903/documents/{document_id}/download").status_code == 404
    assert heshan.get(f"/api/v1/jobs/{job_id}").status_code == 404
    assert heshan.post(f"{LINGLING}/evaluations/{made['owner_id']}/report").status_code == 404
    assert heshan.get("/t/431102/documents").status_code == 404
    notices = heshan.get("/api/v1/notifications").get_json()["items"]
    assert made["job"]["result"]["url"] not in [n["url"] for n in notices]


def test_the_requester_finds_the_file_in_the_bell(finance, generated):
    urls = [n["url"] for n in finance.get("/api/v1/notifications").get_json()["items"] if n["kind"] == "document.ready"]
    for made in generated.values():
        assert urls.count(made["job"]["result"]["url"]) == 1  # once, however many times it was generated


def test_the_province_reads_but_does_not_generate(embedded, generated):
    province = api_login(embedded, "hunan_admin")
    made = generated["notice"]
    assert made["job"]["result"]["document_id"] in [d["id"] for d in province.get(f"{LINGLING}/documents").get_json()]
    assert province.get(made["job"]["result"]["url"]).status_code == 200
    assert province.post(f"{LINGLING}/rectifications/{made['owner_id']}/notice-pdf").status_code == 403
    # The job is Lingling's: only Lingling's users see it.
    assert province.get(f"/api/v1/jobs/{made['job']['id']}").status_code == 404


def test_readers_follow_the_records_rules(embedded, finance, generated):
    """A viewer reads but cannot generate; a department user generates and reads the documents of their own
    department's records and does not see the others' (404, as for the record itself)."""
    viewer = api_login(embedded, "lingling_viewer")
    made = generated["evaluation"]
    assert viewer.get(made["job"]["result"]["url"]).status_code == 200
    assert viewer.post(f"{LINGLING}/evaluations/{made['owner_id']}/report").status_code == 403

    dept = api_login(embedded, "lingling_dept")
    own = {e["id"] for e in dept.get(f"{LINGLING}/evaluations").get_json()}
    submitted = finance.get(f"{LINGLING}/evaluations?status=submitted").get_json()
    hidden = next(e for e in submitted if e["id"] not in own)  # the demo data spans departments
    job = generate(finance, f"{LINGLING}/evaluations/{hidden['id']}/report")
    document_id = job["result"]["document_id"]
    assert dept.get(f"{LINGLING}/evaluations/{hidden['id']}").status_code == 404
    assert dept.get(job["result"]["url"]).status_code == 404
    assert dept.get(f"{LINGLING}/documents/{document_id}").status_code == 404
    assert document_id not in {d["id"] for d in dept.get(f"{LINGLING}/documents").get_json()}
    assert dept.post(f"{LINGLING}/evaluations/{hidden['id']}/report").status_code == 404
    for document in dept.get(f"{LINGLING}/documents?owner_type=evaluations").get_json():
        assert document["owner_id"] in own

    mine = next((e for e in submitted if e["id"] in own), None)
    if mine is not None:
        job = generate(dept, f"{LINGLING}/evaluations/{mine['id']}/report")
        assert dept.get(job["result"]["url"]).status_code == 200
        assert finance.get(job["result"]["url"]).status_code == 200


def test_an_unsubmitted_evaluation_has_no_report(finance):
    assigned = finance.get(f"{LINGLING}/evaluations?status=assigned").get_json()
    if not assigned:
        pytest.skip("the demo data has no assigned evaluation")
    response = finance.post(f"{LINGLING}/evaluations/{assigned[0]['id']}/report")
    assert response.status_code == 409
    assert "尚未提交" in response.get_json()["error"]["message"]


def test_a_real_worker_renders_from_the_documents_queue(jixiao_app):
    """With Redis, the job waits in the "documents" queue until a `jixiao worker` (a separate process, which
    registers the kinds by itself) renders and stores it."""
    url = os.environ.get("JIXIAO_TEST_REDIS_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("CI must run the document jobs on a real worker too (JIXIAO_TEST_REDIS_URL)")
        pytest.skip("no JIXIAO_TEST_REDIS_URL")
    from redis import Redis
    from rq import Queue

    Queue("documents", connection=Redis.from_url(url)).empty()  # nothing left by an earlier session's database
    queued_app = make_app_like(jixiao_app, REDIS_URL=url)
    finance = api_login(queued_app, "lingling_finance")
    notice = finance.get(f"{LINGLING}/rectifications").get_json()[-1]
    asked = finance.post(f"{LINGLING}/rectifications/{notice['id']}/notice-pdf")
    assert asked.status_code == 202 and asked.get_json()["status"] == "queued", asked.get_json()
    job_id = asked.get_json()["id"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIXIAO_")}
    env.update(JIXIAO_DATABASE_URL=queued_app.config["DATABASE_URL"], JIXIAO_REDIS_URL=url,
               JIXIAO_SECRET_KEY=queued_app.config["SECRET_KEY"], JIXIAO_INSTANCE_PATH=queued_app.config["INSTANCE_PATH"])
    jixiao = str(Path(sys.executable).parent / "jixiao")
    worker = subprocess.run([jixiao, "worker", "--queues", "documents", "--burst"], env=env, capture_output=True,
                            text=True, timeout=300)
    job = finance.get(f"/api/v1/jobs/{job_id}").get_json()
    assert job["status"] == "succeeded", (job, worker.stdout[-2000:], worker.stderr[-2000:])
    download = finance.get(job["result"]["url"])
    assert download.status_code == 200 and download.data.startswith(b"%PDF-")


# ---- Pages --------------------------------------------------------------------------------------------------


def test_the_documents_page_lists_them_and_the_buttons_go_to_the_job(finance, generated):
    page = finance.get("/t/431102/documents")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for made in generated.values():
        assert made["job"]["result"]["url"] in html
    assert "生成年度统计报告" in html
    # Each document links to its record, where its owner type (registered by its domain) says it is shown.
    assert f'#evaluation-{generated["evaluation"]["owner_id"]}"' in html
    assert f'#notice-{generated["notice"]["owner_id"]}"' in html
    assert 'href="/t/431102/statistics"' in html

    notice = generated["notice"]
    response = finance.post(f"/t/431102/rectifications/{notice['owner_id']}/notice-pdf")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/jobs/")
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    job = finance.get(f"/api/v1/jobs/{job_id}").get_json()
    assert job["status"] == "succeeded"
    assert job["result"] == notice["job"]["result"]  # same content, same document
    assert finance.get(f"/jobs/{job_id}").status_code == 200


# ---- The ranking notice, from plain data --------------------------------------------------------------------


def test_the_ranking_notice_renders_from_plain_data(tmp_path):
    from jixiao.assessment.notice import render_ranking_notice

    rows = [
        {"rank": 1, "name": "衡阳县", "score": "95.5", "grade": "优秀", "notes": "进入全省前十，奖励工作经费"},
        (2, "衡南县", 88, "良好", ""),
        (3, "南岳区", 69.5, "合格", "区考核评分未达70分"),
    ]
    arguments = dict(title="衡阳市财政局关于2025年度县市区预算绩效管理工作考核结果的通报", year=2025,
                     issuer="衡阳市财政局", rows=rows, rewarded=["衡阳县"], summoned=["南岳区"])
    data = render_ranking_notice(**arguments, issued_on=date(2026, 3, 15), number="衡财绩〔2026〕5号")
    again = render_ranking_notice(**arguments, issued_on=date(2026, 3, 15), number="衡财绩〔2026〕5号")
    assert data == again  # deterministic: nothing in it depends on the clock
    path = tmp_path / "ranking.pdf"
    path.write_bytes(data)
    assert_cjk_font_embedded(path)
    text = subprocess.run([need("pdftotext"), "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout
    assert "衡阳市财政局" in text and "95.50" in text and "约谈" in text and "2026年3月15日" in text
    info = subprocess.run([need("pdfinfo"), "-isodates", str(path)], check=True, capture_output=True, text=True).stdout
    assert "2026-03-15" in info  # the PDF's dates are the notice's date


def test_rendering_never_fetches_anything(caplog):
    """Images and stylesheets by URL (http, file) are refused by the fetcher; inline data: is allowed."""
    import logging

    from weasyprint import HTML

    from jixiao.documents import pdf

    fetcher = pdf._url_fetcher()
    for url in ("http://127.0.0.1:9/logo.png", "https://example.com/x.css", "file:///etc/hostname"):
        with pytest.raises(ValueError, match="refused"):
            fetcher.fetch(url)
    assert fetcher.fetch("data:text/plain,ok").read() == b"ok"

    html = ('<html><head><link rel="stylesheet" href="file:///etc/hostname"></head><body>'
            '<img src="http://127.0.0.1:9/logo.png"><p style="font-family: &quot;Noto Sans CJK SC&quot;">零陵</p>'
            '</body></html>')
    with caplog.at_level(logging.WARNING, logger="jixiao.documents.pdf"):
        data = HTML(string=html, base_url=pdf.TEMPLATES.as_uri() + "/", url_fetcher=fetcher).write_pdf()
    assert data.startswith(b"%PDF-")
    refused = [r.getMessage() for r in caplog.records if r.name == "jixiao.documents.pdf"]
    assert any("127.0.0.1:9/logo.png" in m for m in refused) and any("/etc/hostname" in m for m in refused)


def test_document_owner_types_are_registered_when_the_app_is_made(app):
    """Who may read a ranking notice used to depend on whether ``assessment/jobs.py`` had been imported (an
    import side effect): right after ``create_app()`` a web worker could answer differently from another."""
    from jixiao.documents import service as documents
    from tests.test_audit_and_api import make_app_like

    made = make_app_like(app)
    with made.app_context():
        assert set(documents.owner_types()) == {"evaluations", "rectification_notices", "projects", "tenants",
                                                "assessment_campaigns", "spreadsheets"}
