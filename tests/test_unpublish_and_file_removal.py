"""Two things a person must be able to undo: a result published by mistake (撤回公开, with the reason, audited)
and an evidence file uploaded by mistake (deleted before 核验销号, audited with its name and SHA-256).

Records are made through the API, as a finance bureau and its unit would make them, in budget years 2080–2081.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from jixiao.testing import unique

UNPUBLISH_YEAR = 2080
FILES_YEAR = 2081
LINGLING = "431102"
INDICATORS = [
    {"level1": "产出", "level2": "数量指标", "name": "改造校舍面积", "direction": "ge", "target_value": "2000",
     "unit": "平方米", "weight": "50"},
    {"level1": "效益", "level2": "社会效益指标", "name": "受益学生人数", "direction": "ge", "target_value": "800",
     "unit": "人", "weight": "30"},
    {"level1": "满意度", "level2": "服务对象满意度指标", "name": "师生满意度", "direction": "ge",
     "target_value": "90", "unit": "%", "weight": "20"},
]


def url(path: str = "") -> str:
    return f"/api/v1/tenants/{LINGLING}{path}"


def page(path: str = "") -> str:
    return f"/t/{LINGLING}{path}"


def ok(response, status=200):
    assert response.status_code == status, response.get_json()
    return response.get_json()


def budgeted(client, year: int) -> dict:
    """A continuing project of department 101 with approved targets and budget."""
    project = ok(client.post(url("/projects"), json={
        "code": unique("UF"), "name": unique("校舍改造项目"), "year": year, "kind": "project",
        "fund_type": "general_public", "department_code": "101", "is_new": False, "is_key": False,
        "requested_amount": "1000000.00"}), 201)
    pid = project["id"]
    ok(client.put(url(f"/projects/{pid}/targets"), json={"overall_target": "改造校舍2000平方米。",
                                                          "indicators": INDICATORS}))
    ok(client.post(url(f"/projects/{pid}/targets/submit")))
    ok(client.post(url(f"/projects/{pid}/targets/review"), json={"decision": "approve"}))
    return ok(client.post(url(f"/projects/{pid}/budget"), json={
        "approved_amount": "1000000.00", "version": ok(client.get(url(f"/projects/{pid}")))["version"]}))


def self_evaluated(client, project: dict) -> int:
    pid = project["id"]
    evaluation = ok(client.post(url(f"/projects/{pid}/evaluations"), json={"kind": "self"}), 201)
    indicators = ok(client.get(url(f"/projects/{pid}/targets")))["indicators"]
    ok(client.post(url(f"/evaluations/{evaluation['id']}/submit"), json={
        "executed_amount": project["approved_amount"], "summary": "完成年度目标",
        "findings": [{"problem": "资金支付进度偏慢", "suggestion": "加快支付"}],
        "scores": [{"indicator_id": i["id"], "actual_value": i["target_value"]} for i in indicators]}))
    return evaluation["id"]


@pytest.fixture
def finance(login):
    return login("lingling_finance")


@pytest.fixture
def unit(login):
    return login("lingling_dept")


@pytest.fixture
def stranger(login):
    """Finance staff of another county."""
    return login("heshan_finance")


def public_codes(client, year: int) -> list[str]:
    return [e["project"]["code"] for e in ok(client.get(f"/api/v1/public/{LINGLING}/evaluations?year={year}"))]


def history_of(client, pid: int, action: str) -> list[dict]:
    return [e for e in ok(client.get(url(f"/projects/{pid}/history"))) if e["action"] == action]


# ---- Unpublishing a public result ---------------------------------------------------------------------------


@pytest.fixture
def published(finance) -> tuple[dict, int]:
    project = budgeted(finance, UNPUBLISH_YEAR)
    evaluation_id = self_evaluated(finance, project)
    ok(finance.post(url(f"/projects/{project['id']}/publish"), json={"evaluation_id": evaluation_id}))
    return project, evaluation_id


def unpublish(client, evaluation_id: int, reason: str, version: int | None = None):
    if version is None:
        version = ok(client.get(url(f"/evaluations/{evaluation_id}")))["version"]
    return client.post(url(f"/evaluations/{evaluation_id}/unpublish"), json={"reason": reason, "version": version})


def test_finance_unpublishes_with_a_reason_and_the_public_no_longer_sees_it(finance, client, published):
    project, evaluation_id = published
    assert project["code"] in public_codes(client, UNPUBLISH_YEAR)

    withdrawn = ok(unpublish(finance, evaluation_id, "评价报告附件有误，更正后重新公开"))

    assert withdrawn["published_at"] is None
    assert withdrawn["unpublished_at"] is not None
    assert (withdrawn["unpublished_by_id"], withdrawn["unpublish_reason"]) == (
        finance.user["id"], "评价报告附件有误，更正后重新公开")
    assert project["code"] not in public_codes(client, UNPUBLISH_YEAR)
    public_page = client.get(f"/public/{LINGLING}/?year={UNPUBLISH_YEAR}").get_data(as_text=True)
    assert project["code"] not in public_page and project["name"] not in public_page
    [event] = history_of(finance, project["id"], "evaluation.unpublish")
    assert event["after"] == {"published": False, "unpublish_reason": "评价报告附件有误，更正后重新公开"}
    assert event["actor_name"]


def test_an_unpublished_result_can_be_published_again_and_keeps_why_it_was_withdrawn(finance, client, published):
    project, evaluation_id = published
    ok(unpublish(finance, evaluation_id, "公开范围有误"))
    ok(finance.post(url(f"/projects/{project['id']}/publish"), json={"evaluation_id": evaluation_id}))

    again = ok(finance.get(url(f"/evaluations/{evaluation_id}")))
    assert again["published_at"] is not None and again["unpublish_reason"] == "公开范围有误"
    assert project["code"] in public_codes(client, UNPUBLISH_YEAR)


def test_an_empty_reason_is_refused_naming_the_field_and_nothing_changes(finance, client, published):
    project, evaluation_id = published
    refused = unpublish(finance, evaluation_id, "   ")
    assert refused.status_code == 400
    assert "原因" in refused.get_json()["error"]["fields"]["reason"]
    assert ok(finance.get(url(f"/evaluations/{evaluation_id}")))["published_at"] is not None
    assert project["code"] in public_codes(client, UNPUBLISH_YEAR)


def test_unpublishing_needs_the_version_read(finance, published):
    _, evaluation_id = published
    current = ok(finance.get(url(f"/evaluations/{evaluation_id}")))["version"]
    assert unpublish(finance, evaluation_id, "有误", version=current - 1).status_code == 409
    missing = finance.post(url(f"/evaluations/{evaluation_id}/unpublish"), json={"reason": "有误"})
    assert missing.status_code == 400 and "version" in missing.get_json()["error"]["fields"]


def test_a_result_not_published_cannot_be_unpublished(finance):
    evaluation_id = self_evaluated(finance, budgeted(finance, UNPUBLISH_YEAR))
    refused = unpublish(finance, evaluation_id, "误操作")
    assert refused.status_code == 409 and "尚未公开" in refused.get_json()["error"]["message"]


def test_only_finance_unpublishes(unit, client, published):
    project, evaluation_id = published
    assert unpublish(unit, evaluation_id, "单位想撤回").status_code == 403
    assert project["code"] in public_codes(client, UNPUBLISH_YEAR)


def test_another_countys_finance_cannot_unpublish(stranger, client, published):
    project, evaluation_id = published
    response = stranger.post(url(f"/evaluations/{evaluation_id}/unpublish"), json={"reason": "越权", "version": 1})
    assert response.status_code == 404
    assert stranger.post(page(f"/projects/{project['id']}/evaluations/{evaluation_id}/unpublish"),
                         data={"reason": "越权", "version": "1"}).status_code == 404
    assert project["code"] in public_codes(client, UNPUBLISH_YEAR)


def test_the_project_page_unpublishes_with_a_confirmation_and_keeps_the_reason(finance, client, published):
    project, evaluation_id = published
    action = page(f"/projects/{project['id']}/evaluations/{evaluation_id}/unpublish")
    html = finance.get(page(f"/projects/{project['id']}")).get_data(as_text=True)
    form = html[html.index(f'action="{action}"'):]
    form = form[:form.index("</form>")]
    assert "data-confirm=" in form and 'name="reason"' in form
    version = ok(finance.get(url(f"/evaluations/{evaluation_id}")))["version"]

    refused = finance.post(action, data={"reason": "", "version": str(version)})
    assert refused.status_code == 400
    assert "请写明撤回公开的原因" in refused.get_data(as_text=True)

    done = finance.post(action, data={"reason": "数据口径需更正", "version": str(version)})
    assert done.status_code == 302
    after = finance.get(page(f"/projects/{project['id']}")).get_data(as_text=True)
    assert "撤回公开，原因：数据口径需更正" in after
    assert project["code"] not in public_codes(client, UNPUBLISH_YEAR)


def test_the_unit_sees_no_unpublish_button(unit, published):
    project, evaluation_id = published
    html = unit.get(page(f"/projects/{project['id']}")).get_data(as_text=True)
    assert f"/evaluations/{evaluation_id}/unpublish" not in html


# ---- Deleting a wrongly uploaded evidence file ----------------------------------------------------------------


@pytest.fixture
def notice(finance) -> tuple[dict, int]:
    """A project of department 101 with a rectification notice issued (not yet answered)."""
    project = budgeted(finance, FILES_YEAR)
    evaluation_id = self_evaluated(finance, project)
    issued = ok(finance.post(url(f"/projects/{project['id']}/rectifications"),
                             json={"evaluation_id": evaluation_id, "problems": ["资金支付进度偏慢"]}), 201)
    return project, issued["id"]


def pdf_bytes() -> bytes:
    return f"%PDF-1.4\n% {unique('evidence')}\n%%EOF\n".encode()


def upload(client, notice_id: int, data: bytes, name: str = "整改佐证.pdf") -> dict:
    return ok(client.post(url(f"/rectifications/{notice_id}/files"),
                          data={"file": (io.BytesIO(data), name)},
                          content_type="multipart/form-data"), 201)


def stored(app, tenant_code: str, sha256: str) -> Path:
    from jixiao.db import system_scope
    from jixiao.tenancy import service as tenancy

    with app.app_context(), system_scope() as db:
        tenant_id = tenancy.get_by_code(db, tenant_code).id
    return Path(app.instance_path) / "files" / str(tenant_id) / sha256


def file_ids(client, notice_id: int) -> list[int]:
    return [f["id"] for f in ok(client.get(url(f"/rectifications/{notice_id}/files")))]


def test_the_uploader_deletes_a_wrong_file_before_verification(app, unit, finance, notice):
    project, notice_id = notice
    data = pdf_bytes()
    wrong = upload(unit, notice_id, data, "错传的文件.pdf")
    assert wrong["sha256"] == hashlib.sha256(data).hexdigest()
    assert stored(app, LINGLING, wrong["sha256"]).is_file()

    assert unit.delete(url(f"/rectifications/{notice_id}/files/{wrong['id']}")).status_code == 204

    assert wrong["id"] not in file_ids(unit, notice_id)
    assert unit.get(url(f"/rectifications/{notice_id}/files/{wrong['id']}")).status_code == 404
    assert not stored(app, LINGLING, wrong["sha256"]).exists()
    [event] = history_of(finance, project["id"], "evidence.remove")
    assert event["before"]["filename"] == "错传的文件.pdf"
    assert (event["before"]["sha256"], event["before"]["bytes"]) == (wrong["sha256"], len(data))
    assert event["before"]["uploaded_by"] == "lingling_dept"


def test_finance_deletes_a_file_the_unit_uploaded(unit, finance, notice):
    _, notice_id = notice
    wrong = upload(unit, notice_id, pdf_bytes())
    assert finance.delete(url(f"/rectifications/{notice_id}/files/{wrong['id']}")).status_code == 204
    assert wrong["id"] not in file_ids(finance, notice_id)


def test_a_unit_user_who_did_not_upload_the_file_gets_403(unit, finance, notice):
    _, notice_id = notice
    finances = upload(finance, notice_id, pdf_bytes())
    refused = unit.delete(url(f"/rectifications/{notice_id}/files/{finances['id']}"))
    assert refused.status_code == 403
    assert finances["id"] in file_ids(unit, notice_id)


def test_after_verification_the_evidence_cannot_be_deleted(app, unit, finance, notice):
    _, notice_id = notice
    kept = upload(unit, notice_id, pdf_bytes())
    answered = ok(unit.post(url(f"/rectifications/{notice_id}/answer"), json={"measures": "已加快支付进度"}))
    ok(finance.post(url(f"/rectifications/{notice_id}/verify"),
                    json={"decision": "accept", "version": answered["version"]}))

    for who in (unit, finance):
        refused = who.delete(url(f"/rectifications/{notice_id}/files/{kept['id']}"))
        assert refused.status_code == 409
        assert "核验" in refused.get_json()["error"]["message"]
    assert kept["id"] in file_ids(finance, notice_id)
    assert stored(app, LINGLING, kept["sha256"]).is_file()


def test_bytes_another_record_holds_are_kept(app, unit, notice):
    _, notice_id = notice
    data = pdf_bytes()
    first, second = upload(unit, notice_id, data, "第一份.pdf"), upload(unit, notice_id, data, "第二份.pdf")
    assert unit.delete(url(f"/rectifications/{notice_id}/files/{first['id']}")).status_code == 204
    assert stored(app, LINGLING, second["sha256"]).is_file()
    download = unit.get(url(f"/rectifications/{notice_id}/files/{second['id']}"))
    assert download.status_code == 200 and download.data == data


def test_another_countys_user_cannot_delete_a_file(unit, stranger, notice):
    project, notice_id = notice
    wrong = upload(unit, notice_id, pdf_bytes())
    assert stranger.delete(url(f"/rectifications/{notice_id}/files/{wrong['id']}")).status_code == 404
    delete_page = page(f"/projects/{project['id']}/rectifications/{notice_id}/files/{wrong['id']}/delete")
    assert stranger.post(delete_page, data={}).status_code == 404
    assert wrong["id"] in file_ids(unit, notice_id)


def test_the_project_page_deletes_a_file_after_a_confirmation(unit, finance, notice):
    project, notice_id = notice
    own, finances = upload(unit, notice_id, pdf_bytes(), "单位上传.pdf"), upload(finance, notice_id, pdf_bytes())
    action = page(f"/projects/{project['id']}/rectifications/{notice_id}/files/{own['id']}/delete")
    html = unit.get(page(f"/projects/{project['id']}")).get_data(as_text=True)
    form = html[html.index(f'action="{action}"'):]
    assert "data-confirm=" in form[:form.index("</form>")]
    assert f"/files/{finances['id']}/delete" not in html  # not the unit's own upload: no button

    done = unit.post(action, data={})
    assert done.status_code == 302
    assert "已删除佐证材料“单位上传.pdf”" in unit.get(done.headers["Location"]).get_data(as_text=True)
    assert own["id"] not in file_ids(unit, notice_id)

    refused = unit.post(page(f"/projects/{project['id']}/rectifications/{notice_id}/files/{finances['id']}/delete"),
                        data={})
    assert refused.status_code == 403
    assert "只有上传人或本级财政绩效人员可以删除佐证材料" in refused.get_data(as_text=True)
