"""The page a too-large upload gets (413) names the configured limit and links back; irreversible actions on
the pages carry a confirmation for the static script (the CSP allows no inline script)."""

from __future__ import annotations

import io
import re

from jixiao.testing import DEMO_PASSWORD

UPLOAD_MB = 2


def page_login(client, username: str) -> None:
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    answer = client.post("/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token})
    assert answer.status_code == 302


def test_the_413_page_names_the_limit_and_links_back(app, client, monkeypatch, login):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", UPLOAD_MB * 1024 * 1024)
    page_login(client, "lingling_dept")
    came_from = "http://localhost/t/431102/imports"
    body = {"file": (io.BytesIO(b"x" * (UPLOAD_MB * 1024 * 1024 + 1)), "大.xlsx")}
    answer = client.post("/t/431102/imports", data=body, content_type="multipart/form-data",
                         headers={"Referer": came_from})
    assert answer.status_code == 413
    html = answer.get_data(as_text=True)
    assert f"每次上传最多 {UPLOAD_MB} MB" in html
    assert f'<a href="{came_from}" class="back">返回上一页</a>' in html

    # Another site's address is never offered as the way back; the script steps back in the history instead.
    body = {"file": (io.BytesIO(b"x" * (UPLOAD_MB * 1024 * 1024 + 1)), "大.xlsx")}
    answer = client.post("/t/431102/imports", data=body, content_type="multipart/form-data",
                         headers={"Referer": "https://elsewhere.example/page"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 413 and "elsewhere.example" not in html
    assert 'class="back" data-history-back>返回上一页</a>' in html

    # The API says the same limit, in its JSON error.
    unit = login("lingling_dept")
    body = {"file": (io.BytesIO(b"x" * (UPLOAD_MB * 1024 * 1024 + 1)), "大.xlsx")}
    answer = unit.post("/api/v1/t/431102/imports/projects", data=body, content_type="multipart/form-data")
    assert answer.status_code == 413
    assert f"每次上传最多 {UPLOAD_MB} MB" in answer.get_json()["error"]["message"]


def test_irreversible_actions_ask_first_through_the_static_script(client):
    page_login(client, "lingling_finance")
    answer = client.get("/t/431102/projects?stage=targets_approved")
    project = re.search(r'href="(/t/431102/projects/\d+)"', answer.get_data(as_text=True)).group(1)
    answer = client.get(project)
    html = answer.get_data(as_text=True)
    assert re.search(r'<button type="submit" class="secondary" data-confirm="[^"]*公开[^"]*">公开绩效目标</button>',
                     html), "the publish button asks first"
    # The handler is the static script; the page has no inline script and the policy forbids one.
    assert '<script src="/static/jixiao.js"></script>' in html
    assert not re.search(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>", html)
    assert not re.search(r"\son[a-z]+=", html)
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
    assert client.get("/static/jixiao.js").status_code == 200
