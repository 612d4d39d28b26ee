"""Inter-level assessment: computed indicators from seeded records, rankings, veto, Hengyang's awards."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest

from jixiao.accounts.models import Department
from jixiao.db import TenantScope, scoped, system_scope, utcnow
from jixiao.lifecycle.models import (
    Evaluation,
    EvaluationKind,
    EvaluationStatus,
    FundType,
    Light,
    MonitoringReport,
    NoticeStatus,
    Project,
    ProjectKind,
    RectificationNotice,
    ResultApplication,
    Stage,
    TargetSet,
    TargetStatus,
)
from jixiao.lifecycle.rectification import today as local_today
from jixiao.tenancy import service as tenancy
from jixiao.testing import api_login, unique
from tests.test_audit_and_api import make_app_like

YEAR = 2025


def seed_units(app, county: str, units: list[dict]) -> None:
    """One department-whole project per unit, taken as far as the unit says: targets, budget, monitoring,
    self-evaluation, a key project's finance evaluation (published), its result applied, a notice closed on time."""
    with app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, county)
        with scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id)) as db:
            for unit in units:
                department = Department(tenant_id=tenant.id, code=unique("U")[-12:], name="考核单位")
                db.add(department)
                db.flush()
                budgeted = unit.get("budgeted") or unit.get("key_evaluated")
                project = Project(tenant_id=tenant.id, department_id=department.id, year=YEAR, code=unique("K"),
                                  name="部门整体支出", kind=ProjectKind.DEPARTMENT_WHOLE, fund_type=FundType.GENERAL_PUBLIC,
                                  is_new=False, is_key=bool(unit.get("key_evaluated")),
                                  requested_amount=Decimal(unit.get("amount", "1000000")),
                                  stage=Stage.BUDGETED if budgeted else Stage.DRAFT)
                db.add(project)
                db.flush()
                if unit.get("targets") or budgeted:
                    db.add(TargetSet(tenant_id=tenant.id, project_id=project.id, overall_target="x",
                                     status=TargetStatus.APPROVED if budgeted else TargetStatus.SUBMITTED,
                                     submitted_at=utcnow()))
                if unit.get("monitored"):
                    db.add(MonitoringReport(tenant_id=tenant.id, project_id=project.id, period=6,
                                            executed_amount=Decimal("1"), execution_rate=Decimal("1"), light=Light.RED))
                if unit.get("self_evaluated"):
                    db.add(Evaluation(tenant_id=tenant.id, project_id=project.id, kind=EvaluationKind.SELF,
                                      status=EvaluationStatus.SUBMITTED, total_score=Decimal(90), grade="优",
                                      submitted_at=utcnow()))
                if unit.get("key_evaluated"):
                    evaluation = Evaluation(tenant_id=tenant.id, project_id=project.id, kind=EvaluationKind.FINANCE,
                                            status=EvaluationStatus.SUBMITTED, total_score=Decimal(85), grade="良",
                                            submitted_at=utcnow(), published_at=utcnow())
                    db.add(evaluation)
                    db.flush()
                    if unit.get("applied"):
                        db.add(ResultApplication(tenant_id=tenant.id, evaluation_id=evaluation.id, project_id=project.id,
                                                 grade="良", suggested_action="maintain", decision="maintain",
                                                 next_year=YEAR + 1))
                    if unit.get("notice"):
                        db.add(RectificationNotice(tenant_id=tenant.id, evaluation_id=evaluation.id,
                                                   project_id=project.id, problems=["x"], deadline=local_today(),
                                                   status=NoticeStatus.VERIFIED, verified_at=utcnow()))
            db.commit()


ALL_IN = {"targets": True, "budgeted": True, "monitored": True, "self_evaluated": True, "key_evaluated": True,
          "applied": True, "notice": True}


@pytest.fixture(scope="module")
def seeded(jixiao_app):
    """Hand-made records in three counties for the assessment year (no other test uses 2025).

    Every other county of the province has no records at all.
    """
    # 零陵区: 5 units; 4 filed targets; 3 budgeted (one a key project evaluated by finance and published, its
    # result not yet applied); 1 monitored and self-evaluated. No notices, no new projects.
    seed_units(jixiao_app, "431102", [
        {"targets": True, "budgeted": True, "monitored": True, "self_evaluated": True},
        {"targets": True, "budgeted": True},
        {"targets": True},
        {},
        {"key_evaluated": True},
    ])
    # 珠晖区 (a 区 of Hengyang) and 衡阳县: a unit with everything, and a budgeted unit that did nothing more.
    for county in ("430405", "430421"):
        seed_units(jixiao_app, county, [ALL_IN, {"budgeted": True}])
    return make_app_like(jixiao_app, REDIS_URL=None)


def ok(response, status=200):
    assert response.status_code == status, response.get_json()
    return response.get_json()


def base(code: str, path: str = "") -> str:
    return f"/api/v1/tenants/{code}/assessments{path}"


def at_version(user, code: str, campaign_id: int, body: dict) -> dict:
    """``body`` with the campaign's version, read first, as a client sends it with every write to a campaign."""
    return {**body, "version": ok(user.get(base(code, f"/{campaign_id}")))["version"]}


def act(user, code: str, campaign_id: int, action: str, body: dict):
    """A write to a campaign (``finalize``, ``reopen``, ``scores``…) as a client makes it: with the version read."""
    send = user.put if action in ("scores", "overrides") else user.post
    return send(base(code, f"/{campaign_id}/{action}"), json=at_version(user, code, campaign_id, body))


def version_from(page: str) -> str:
    """The campaign version a page's forms send back (their hidden ``version`` field)."""
    return re.search(r'name="version" value="(\d+)"', page).group(1)


def open_campaign(user, code: str, scheme: str, year: int = YEAR, **extra) -> dict:
    return ok(user.post(base(code), json={
        "year": year, "scheme": scheme, "deadline": (date.today() + timedelta(days=30)).isoformat(), **extra}), 201)


def finalize(user, code: str, campaign_id: int) -> list[dict]:
    """Finalise before the deadline (the tests' subjects report today): forced, with a reason."""
    job = ok(act(user, code, campaign_id, "finalize", {"force": True, "reason": "测试提前汇总"}), 202)
    assert job["status"] == "succeeded", job
    return ok(user.get(base(code, f"/{campaign_id}/ranking")))


def by_code(rows: list[dict]) -> dict[str, dict]:
    return {row["code"]: row for row in rows}


def points(row: dict, indicator: str) -> Decimal:
    return Decimal(next(s["points"] for s in row["scores"] if s["indicator_code"] == indicator))


def state(row: dict, indicator: str) -> str:
    return next(s["status"] for s in row["scores"] if s["indicator_code"] == indicator)


def test_schemes_follow_the_year_and_name_the_rule_set(seeded):
    province = api_login(seeded, "hunan_admin")
    for year, rule_set in ((2020, "hunan-2020"), (2021, "hunan-2021"), (YEAR, "hunan-2021")):
        schemes = ok(province.get(f"/api/v1/tenants/430000/assessments/schemes?year={year}"))
        counties = [s for s in schemes if s["code"] == "hunan-province-counties"]
        assert counties and counties[0]["rule_set"] == rule_set
    sichuan = api_login(seeded, "sichuan_admin")
    codes = {s["code"] for s in ok(sichuan.get(f"/api/v1/tenants/510000/assessments/schemes?year={YEAR}"))}
    assert not any(code.startswith("hunan") for code in codes)  # Hunan's schemes never answer in Sichuan


def test_province_campaign_states_coverage_ranks_and_vetoes(seeded):
    province = api_login(seeded, "hunan_admin")
    campaign = open_campaign(province, "430000", "hunan-province-counties")
    assert campaign["subject_count"] == 122 and campaign["rule_set"] == "hunan-2021"
    assert campaign["cutoff"] == campaign["deadline"]  # computed items read the records as of the deadline
    # One campaign per year and scheme: a second is refused until the first is withdrawn.
    again = province.post(base("430000"), json={"year": YEAR, "scheme": "hunan-province-counties",
                                                "deadline": campaign["deadline"]})
    assert again.status_code == 409 and "撤回" in again.get_json()["error"]["message"]
    subjects = by_code(ok(province.get(base("430000", f"/{campaign['id']}/subjects"))))
    # A veto for 珠晖区: its total becomes 0.
    ok(act(province, "430000", campaign["id"], "scores", {
        "subject_id": subjects["430405"]["id"], "indicator": "F3", "points": "1", "comment": "虚报绩效数据"}))
    ranking = finalize(province, "430000", campaign["id"])
    rows = by_code(ranking)

    lingling = rows["431102"]
    # Hand-computed. A1 targets by units 4/5 × 10 = 8; A2 by amount 4/5 × 10 = 8; B1 monitoring 1 of 3 budgeted
    # units = 3.33; C1 self-evaluation 1/3 = 3.33; C2 key evaluations 1/1 = 10; D1 published 1/1 = 10; D3 results
    # applied 0/1 = 0. X1 (no new projects) and D2 (no notices) have no data: not applicable, out of the maximum.
    # E1 and E2 were not reported by the deadline: 未报送, 0 of 15. Measurable 80 of 100 → 42.66 × 100 / 80.
    assert [points(lingling, c) for c in ("A1", "A2", "B1", "C1", "C2", "D1", "D3")] == [
        Decimal("8.00"), Decimal("8.00"), Decimal("3.33"), Decimal("3.33"), Decimal("10.00"), Decimal("10.00"),
        Decimal("0.00")]
    assert (state(lingling, "X1"), state(lingling, "D2"), state(lingling, "E1")) == (
        "no_data", "no_data", "not_submitted")
    assert (lingling["measurable"], lingling["full_marks"], lingling["coverage"]) == ("80.00", "100.00", "0.8000")
    assert lingling["total"] == "53.33" and lingling["ranked"] and lingling["grade"] == "不合格"
    # 衡阳县: everything but X1 measurable (90); 8 items of 10 points, C1 and B1 half (one budgeted unit did
    # nothing): 10+10+5+5+10+10+10+5 = 65 → 65 × 100 / 90 = 72.22.
    county = rows["430421"]
    assert county["total"] == "72.22" and county["coverage"] == "0.9000" and county["grade"] == "合格"
    assert rows["430405"]["vetoed"] and rows["430405"]["total"] == "0.00" and rows["430405"]["ranked"]
    # Ranks among the ranked only; a county with no records has nothing measurable but E1 and E2 (15%): 数据不足,
    # listed after the ranked ones, never tied with them (it used to be ranked 3rd of 122 at 45.00).
    assert (county["rank"], lingling["rank"], rows["430405"]["rank"]) == (1, 2, 3)
    assert lingling["rank_in_parent"] == 1 and county["rank_in_parent"] == 1
    empty = rows["430426"]  # 祁东县
    assert (empty["ranked"], empty["rank"], empty["grade"], empty["coverage"]) == (False, None, None, "0.1500")
    assert [r["code"] for r in ranking[:3]] == ["430421", "431102", "430405"]
    assert all(not r["ranked"] for r in ranking[3:]) and len(ranking) == 122
    # Amounts read like amounts, counts like counts.
    a2 = next(s for s in lingling["scores"] if s["indicator_code"] == "A2")
    assert a2["comment"] == "设定绩效目标的资金占比：400.00万元 / 500.00万元，80.00%"
    assert all("E+" not in s["comment"] for r in ranking for s in r["scores"])

    # Finalised: scores are frozen until the assessor reopens with a reason.
    frozen = act(province, "430000", campaign["id"], "scores", {
        "subject_id": subjects["431102"]["id"], "indicator": "E1", "points": "8"})
    assert frozen.status_code == 409 and "冻结" in frozen.get_json()["error"]["message"]
    refused = act(province, "430000", campaign["id"], "reopen", {"reason": " "})
    assert refused.status_code == 400 and "reason" in refused.get_json()["error"]["fields"]
    ok(act(province, "430000", campaign["id"], "reopen", {"reason": "核实珠晖区数据"}))
    # Assessed items without evidence are 'insufficient evidence', not a low score.
    scored = ok(act(province, "430000", campaign["id"], "scores", {
        "subject_id": subjects["431102"]["id"], "indicator": "E1", "points": "8"}))
    assert scored["status"] == "insufficient_evidence" and scored["points"] == "0.00"
    # Withdrawn, a new campaign for the same year and scheme may be opened.
    ok(act(province, "430000", campaign["id"], "withdraw", {"reason": "方案调整，重新发起"}))
    assert ok(province.get(base("430000", f"/{campaign['id']}")))["status"] == "withdrawn"


def test_hengyang_rewards_districts_at_70_and_counties_at_80_or_top_ten(seeded, create_user):
    city = api_login(seeded, "hengyang_finance")
    campaign = open_campaign(city, "430400", "hunan-city-counties")
    subjects = by_code(ok(city.get(base("430400", f"/{campaign['id']}/subjects"))))
    # Each subject reports and uploads evidence for 宣传培训 (E2), then the city scores it; 珠晖区 earns the bonus.
    for code, e2, bonus in (("430405", 2, 5), ("430421", 5, 0)):
        county_user = api_login(seeded, create_user(code, roles=["finance"]))
        ok(county_user.post(f"/api/v1/tenants/{code}/assessment-results/{campaign['id']}/evidence",
                            data={"indicator": "E2", "file": (io.BytesIO("%PDF-1.4\n培训通知".encode()), "培训通知.pdf")},
                            content_type="multipart/form-data"))
        ok(act(city, "430400", campaign["id"], "scores", {
            "subject_id": subjects[code]["id"], "indicator": "E2", "points": str(e2)}))
        ok(act(city, "430400", campaign["id"], "scores", {
            "subject_id": subjects[code]["id"], "indicator": "F1", "points": str(bonus)}))
    ranking = by_code(finalize(city, "430400", campaign["id"]))
    district, county = ranking["430405"], ranking["430421"]
    # 珠晖区: (65 + 2) × 100 / 90 = 74.44, + 5 bonus = 79.44: a 区 above 70, rewarded.
    assert district["total"] == "79.44" and district["awards"]
    # 衡阳县: (65 + 5) × 100 / 90 = 77.78: a county below 80, not rewarded, and the lowest ranked: named.
    assert county["total"] == "77.78" and county["awards"] == []
    assert county["notices"] == ["考核排名靠后，予以通报并约谈"]
    # Hengyang's ten counties without records are 数据不足: neither rewarded nor named.
    assert all(not r["awards"] and not r["notices"] for r in ranking.values() if not r["ranked"])
    assert sum(1 for r in ranking.values() if not r["ranked"]) == 10
    # The province's published ranking puts 衡阳县 in its top ten: now it is rewarded too.
    province = api_login(seeded, "hunan_admin")
    provincial = open_campaign(province, "430000", "hunan-province-counties")
    finalize(province, "430000", provincial["id"])
    early = act(province, "430000", provincial["id"], "publish", {})
    assert early.status_code == 409 and "公示期" in early.get_json()["error"]["message"]
    published = act(province, "430000", provincial["id"], "publish", {"force": True, "reason": "测试"})
    assert ok(published, 202)["status"] == "succeeded"
    ok(act(city, "430400", campaign["id"], "reopen", {"reason": "省级排名已发布"}))
    ranking = by_code(finalize(city, "430400", campaign["id"]))
    assert any("全省前10名" in award for award in ranking["430421"]["awards"])
    assert [row["code"] for row in ranking.values() if row["notices"]] == []  # nobody ranked is left unrewarded
    # Each subject sees its own result once published, with deductions and reasons; the city sees all.
    ok(act(city, "430400", campaign["id"], "publish", {"force": True, "reason": "测试"}), 202)
    county_user = api_login(seeded, create_user("430421", roles=["finance"]))
    mine = ok(county_user.get(f"/api/v1/tenants/430421/assessment-results/{campaign['id']}"))
    assert mine["result"]["total"] == "77.78" and mine["result"]["of"] == 2 and not mine["result"]["provisional"]
    assert any(d["indicator"] == "开展绩效监控的单位占比" for d in mine["result"]["deductions"])
    assert {i["code"]: i["state"] for i in mine["result"]["items"]}["X1"] == "no_data"
    # A county cannot read the city's campaign, nor another county's result.
    assert county_user.get(base("430400", f"/{campaign['id']}/ranking")).status_code == 403
    assert county_user.get(f"/api/v1/tenants/430405/assessment-results/{campaign['id']}").status_code == 404


def test_hook_register_assessment_schemes(app):
    with app.app_context(), system_scope() as db:
        from jixiao.lifecycle.common import hooks

        hunan = hooks(db, tenancy.get_by_code(db, "430000")).register_assessment_schemes(year=2021)
        sichuan = hooks(db, tenancy.get_by_code(db, "510000")).register_assessment_schemes(year=2021)
    assert {"hunan-province-counties", "national-basic"} <= {s["code"] for answer in hunan for s in answer}
    assert {s["code"] for answer in sichuan for s in answer} == {"national-basic"}


def test_hook_assessment_grade_uses_the_scheme_bands(app):
    with app.app_context(), system_scope() as db:
        from jixiao.lifecycle.common import hooks

        grade = hooks(db, tenancy.get_by_code(db, "430000")).assessment_grade
        scheme = {"grades": [["优秀", 90], ["良好", 80], ["合格", 60], ["不合格", 0]]}
        assert grade(scheme=scheme, total=Decimal("89.99"), result=None) == "良好"
        assert grade(scheme=scheme, total=Decimal("90.00"), result=None) == "优秀"
        assert grade(scheme=scheme, total=Decimal("12"), result=None) == "不合格"


def test_hook_assessment_awards_follows_hengyangs_rule(app):
    from jixiao.toolkit import AssessmentResultView
    from jixiao_hunan import _schemes

    scheme = next(s for s in _schemes() if s["code"] == "hunan-city-counties")

    def view(code, kind, total, grade="合格"):
        return AssessmentResultView(code=code, name=code, division_type=kind, parent_code="430400",
                                    total=Decimal(total), grade=grade, rank=1, rank_in_parent=1, vetoed=False)

    results = [view("A", "区", 72), view("B", "县", 75), view("C", "县", 75, grade="优秀"), view("D", "县", 75),
               view("E", "县", 50), view("F", "县", 50), view("G", "县", 40, grade="不合格")]
    with app.app_context(), system_scope() as db:
        from jixiao.lifecycle.common import hooks

        decided = hooks(db, tenancy.get_by_code(db, "430400")).assessment_awards(
            scheme=scheme, results=results,
            ancestor_results={"D": {"rank": 7, "grade": "良好"}, "G": {"rank": 3, "grade": "合格"}})
    assert decided["A"]["awards"] and not decided["B"]["awards"]
    assert decided["C"]["awards"] and decided["D"]["awards"]
    # 不合格 is never rewarded (unless the rule's data says so), even in the province's top ten.
    assert decided["G"]["awards"] == []
    # Two to summon, and E and F tie at 50 just above G: ties are treated alike, so G, E and F are all named.
    assert {code for code, d in decided.items() if d["notices"]} == {"E", "F", "G"}


def test_the_ranking_notice_is_exported_as_pdf_and_excel(seeded):
    import re
    from io import BytesIO

    from openpyxl import load_workbook

    from tests.test_pages import csrf_from, page_login

    city = api_login(seeded, "hengyang_finance")
    campaign = open_campaign(city, "430400", "hunan-city-counties", year=2024)
    finalize(city, "430400", campaign["id"])
    client = seeded.test_client()
    page_login(client, "hengyang_finance")
    page = client.get(f"/t/430400/assessments/{campaign['id']}").get_data(as_text=True)
    assert "排名" in page and "生成通报" in page
    response = client.post(f"/t/430400/assessments/{campaign['id']}",
                           data={"action": "notice", "csrf_token": csrf_from(page)})
    assert response.status_code == 302 and "/jobs/" in response.headers["Location"]
    job_id = int(re.search(r"/jobs/(\d+)", response.headers["Location"]).group(1))
    job = city.get(f"/api/v1/jobs/{job_id}").get_json()
    assert job["status"] == "succeeded", job
    pdf = client.get(job["result"]["url"])
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    page = client.get(f"/t/430400/assessments/{campaign['id']}").get_data(as_text=True)
    sheet = client.get(re.search(r'href="([^"]+)">导出排名', page).group(1).replace("&amp;", "&"))
    assert sheet.status_code == 200
    rows = list(load_workbook(BytesIO(sheet.data)).active.iter_rows(values_only=True))
    assert any("衡阳县" in str(cell) for row in rows for cell in row)
    # The subtitle names the scheme and its rule set as the campaign page does, not by their codes.
    saved = city.get(f"/api/v1/tenants/430400/assessments/{campaign['id']}").get_json()
    subtitle = " ".join(str(cell) for cell in rows[1] if cell)
    assert saved["scheme"]["name"] in subtitle and saved["scheme"]["rule_set_name"] in subtitle
    assert "hunan-city-counties" not in subtitle and "hunan-20" not in subtitle
    # Another city cannot read Hengyang's notice.
    other = api_login(seeded, "yongzhou_finance")
    assert other.get(job["result"]["url"].replace("/download", "")).status_code == 404
