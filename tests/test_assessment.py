"""Inter-level assessment: computed indicators from seeded records, rankings, veto, Hengyang's awards."""

from __future__ import annotations

import io
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
    Project,
    ProjectKind,
    Stage,
    TargetSet,
    TargetStatus,
)
from jixiao.tenancy import service as tenancy
from jixiao.testing import api_login, unique
from tests.test_audit_and_api import make_app_like

YEAR = 2025


def seed_units(app, county: str, units: list[dict]) -> None:
    """One department-whole project per unit, taken as far as the unit says (targets, budget, monitoring, self)."""
    with app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, county)
        with scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id)) as db:
            for unit in units:
                department = Department(tenant_id=tenant.id, code=unique("U")[-12:], name="考核单位")
                db.add(department)
                db.flush()
                project = Project(tenant_id=tenant.id, department_id=department.id, year=YEAR, code=unique("K"),
                                  name="部门整体支出", kind=ProjectKind.DEPARTMENT_WHOLE, fund_type=FundType.GENERAL_PUBLIC,
                                  is_new=False, requested_amount=Decimal(unit.get("amount", "1000000")),
                                  stage=Stage.BUDGETED if unit.get("budgeted") else Stage.DRAFT)
                db.add(project)
                db.flush()
                if unit.get("targets"):
                    db.add(TargetSet(tenant_id=tenant.id, project_id=project.id, overall_target="x",
                                     status=TargetStatus.APPROVED if unit.get("budgeted") else TargetStatus.SUBMITTED))
                if unit.get("monitored"):
                    db.add(MonitoringReport(tenant_id=tenant.id, project_id=project.id, period=6,
                                            executed_amount=Decimal("1"), execution_rate=Decimal("1"), light=Light.RED))
                if unit.get("self_evaluated"):
                    db.add(Evaluation(tenant_id=tenant.id, project_id=project.id, kind=EvaluationKind.SELF,
                                      status=EvaluationStatus.SUBMITTED, total_score=Decimal(90), grade="优",
                                      submitted_at=utcnow()))
            db.commit()


@pytest.fixture(scope="module")
def seeded(jixiao_app):
    """Hand-made records in three counties for the assessment year (no other test uses 2025)."""
    # 零陵区: 4 units, 3 filed targets (A1 = 3/4), 2 budgeted, 1 of them monitored and self-evaluated.
    seed_units(jixiao_app, "431102", [
        {"targets": True, "budgeted": True, "monitored": True, "self_evaluated": True},
        {"targets": True, "budgeted": True},
        {"targets": True},
        {},
    ])
    # 珠晖区 (a 区 of Hengyang) and 衡阳县: one unit each, targets filed only.
    seed_units(jixiao_app, "430405", [{"targets": True}])
    seed_units(jixiao_app, "430421", [{"targets": True}])
    return make_app_like(jixiao_app, REDIS_URL=None)


def ok(response, status=200):
    assert response.status_code == status, response.get_json()
    return response.get_json()


def open_campaign(user, code: str, scheme: str) -> dict:
    return ok(user.post(f"/api/v1/tenants/{code}/assessments", json={
        "year": YEAR, "scheme": scheme, "deadline": (date.today() + timedelta(days=30)).isoformat()}), 201)


def finalize(user, code: str, campaign_id: int) -> list[dict]:
    job = ok(user.post(f"/api/v1/tenants/{code}/assessments/{campaign_id}/finalize"), 202)
    assert job["status"] == "succeeded", job
    return ok(user.get(f"/api/v1/tenants/{code}/assessments/{campaign_id}/ranking"))


def by_code(rows: list[dict]) -> dict[str, dict]:
    return {row["code"]: row for row in rows}


def points(row: dict, indicator: str) -> Decimal:
    return Decimal(next(s["points"] for s in row["scores"] if s["indicator_code"] == indicator))


def test_schemes_follow_the_year_and_name_the_rule_set(seeded):
    province = api_login(seeded, "hunan_admin")
    for year, rule_set in ((2020, "hunan-2020"), (2021, "hunan-2021"), (YEAR, "hunan-2021")):
        schemes = ok(province.get(f"/api/v1/tenants/430000/assessments/schemes?year={year}"))
        counties = [s for s in schemes if s["code"] == "hunan-province-counties"]
        assert counties and counties[0]["rule_set"] == rule_set
    sichuan = api_login(seeded, "sichuan_admin")
    codes = {s["code"] for s in ok(sichuan.get(f"/api/v1/tenants/510000/assessments/schemes?year={YEAR}"))}
    assert not any(code.startswith("hunan") for code in codes)  # Hunan's schemes never answer in Sichuan


def test_province_campaign_computes_ranks_and_vetoes(seeded):
    province = api_login(seeded, "hunan_admin")
    campaign = open_campaign(province, "430000", "hunan-province-counties")
    assert campaign["subject_count"] == 122 and campaign["rule_set"] == "hunan-2021"
    subjects = by_code(ok(province.get(f"/api/v1/tenants/430000/assessments/{campaign['id']}/subjects")))
    # A veto for 珠晖区: its total becomes 0.
    ok(province.put(f"/api/v1/tenants/430000/assessments/{campaign['id']}/scores", json={
        "subject_id": subjects["430405"]["id"], "indicator": "F3", "points": 1, "comment": "虚报绩效数据"}))
    ranking = by_code(finalize(province, "430000", campaign["id"]))

    lingling = ranking["431102"]
    # Hand-computed: A1 targets by units 3/4 × 10 = 7.5; A2 by amount 3/4 × 10 = 7.5; B1 monitoring 1/2 budgeted
    # units × 10 = 5; C1 self-evaluation 1/2 × 10 = 5; X1, C2, D1, D2, D3 have nothing owed: full (45).
    assert points(lingling, "A1") == Decimal("7.50") and points(lingling, "A2") == Decimal("7.50")
    assert points(lingling, "B1") == Decimal("5.00") and points(lingling, "C1") == Decimal("5.00")
    assert Decimal(lingling["total"]) == Decimal("70.00")
    hengyang_county = ranking["430421"]
    assert Decimal(hengyang_county["total"]) == Decimal("65.00")  # 45 + A1 10 + A2 10
    empty = ranking["430426"]  # 祁东县: no records at all
    assert Decimal(empty["total"]) == Decimal("45.00") and points(empty, "A1") == Decimal("0.00")
    # Ranks: 零陵区 first in the province and in 永州市; 衡阳县 second; 珠晖区 vetoed to 0 and last.
    assert lingling["rank"] == 1 and lingling["rank_in_parent"] == 1
    assert hengyang_county["rank"] == 2 and hengyang_county["rank_in_parent"] == 1
    assert ranking["430405"]["vetoed"] and Decimal(ranking["430405"]["total"]) == 0
    assert ranking["430405"]["rank"] == 122
    assert empty["rank"] == 3  # the 119 empty counties share third place
    # Assessed items without evidence are 'insufficient evidence', not a low score.
    scored = ok(province.put(f"/api/v1/tenants/430000/assessments/{campaign['id']}/scores", json={
        "subject_id": subjects["431102"]["id"], "indicator": "E1", "points": 8}))
    assert scored["status"] == "insufficient_evidence" and scored["points"] == "0.00"


def test_hengyang_rewards_districts_at_70_and_counties_at_80_or_top_ten(seeded, create_user):
    city = api_login(seeded, "hengyang_finance")
    campaign = open_campaign(city, "430400", "hunan-city-counties")
    subjects = by_code(ok(city.get(f"/api/v1/tenants/430400/assessments/{campaign['id']}/subjects")))
    # Each subject reports and uploads evidence for 宣传培训 (E2), then the city scores it and the bonus.
    for code, e2 in (("430405", 2), ("430421", 5)):
        county_user = api_login(seeded, create_user(code, roles=["finance"]))
        ok(county_user.post(f"/api/v1/tenants/{code}/assessment-results/{campaign['id']}/evidence",
                            data={"indicator": "E2", "file": (io.BytesIO("培训通知".encode()), "培训通知.pdf")},
                            content_type="multipart/form-data"))
        ok(city.put(f"/api/v1/tenants/430400/assessments/{campaign['id']}/scores", json={
            "subject_id": subjects[code]["id"], "indicator": "E2", "points": e2}))
        ok(city.put(f"/api/v1/tenants/430400/assessments/{campaign['id']}/scores", json={
            "subject_id": subjects[code]["id"], "indicator": "F1", "points": 5}))
    ranking = by_code(finalize(city, "430400", campaign["id"]))
    district, county = ranking["430405"], ranking["430421"]
    assert Decimal(district["total"]) == Decimal("72.00") and district["awards"]  # a 区 at 72: rewarded
    assert Decimal(county["total"]) == Decimal("75.00") and county["awards"] == []  # a county at 75: not
    # The province's published ranking puts 衡阳县 in its top ten: now it is rewarded too.
    province = api_login(seeded, "hunan_admin")
    provincial = open_campaign(province, "430000", "hunan-province-counties")
    # Hengyang's other counties lose a point for late data, so they fall far below the top ten.
    for subject in ok(province.get(f"/api/v1/tenants/430000/assessments/{provincial['id']}/subjects")):
        if subject["parent_code"] == "430400" and subject["code"] not in ("430405", "430421"):
            ok(province.put(f"/api/v1/tenants/430000/assessments/{provincial['id']}/scores", json={
                "subject_id": subject["id"], "indicator": "F2", "points": 1, "comment": "数据报送迟延"}))
    finalize(province, "430000", provincial["id"])
    assert ok(province.post(f"/api/v1/tenants/430000/assessments/{provincial['id']}/publish"), 202)["status"] == "succeeded"
    ranking = by_code(finalize(city, "430400", campaign["id"]))
    assert any("全省前10名" in award for award in ranking["430421"]["awards"])
    # The lowest without an award are named and summoned.
    noticed = [row for row in ranking.values() if row["notices"]]
    assert noticed and all(not row["awards"] for row in noticed)
    # Each subject sees its own result once published, with deductions and reasons; the city sees all.
    ok(city.post(f"/api/v1/tenants/430400/assessments/{campaign['id']}/publish"), 202)
    county_user = api_login(seeded, create_user("430421", roles=["finance"]))
    mine = ok(county_user.get(f"/api/v1/tenants/430421/assessment-results/{campaign['id']}"))
    assert Decimal(mine["result"]["total"]) == Decimal("75.00") and mine["result"]["of"] == 12
    assert any(d["indicator"] == "开展绩效监控的单位占比" for d in mine["result"]["deductions"])
    # A county cannot read the city's campaign, nor another county's result.
    assert county_user.get(f"/api/v1/tenants/430400/assessments/{campaign['id']}/ranking").status_code == 403
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
        assert grade(scheme=scheme, total=Decimal("89.99")) == "良好"
        assert grade(scheme=scheme, total=Decimal("90.00")) == "优秀"
        assert grade(scheme=scheme, total=Decimal("12")) == "不合格"


def test_hook_assessment_awards_follows_hengyangs_rule(app):
    from jixiao.toolkit import AssessmentResultView
    from jixiao_hunan import _schemes

    scheme = next(s for s in _schemes() if s["code"] == "hunan-city-counties")

    def view(code, kind, total, grade="合格"):
        return AssessmentResultView(code=code, name=code, division_type=kind, parent_code="430400",
                                    total=Decimal(total), grade=grade, rank=1, rank_in_parent=1, vetoed=False)

    results = [view("A", "区", 72), view("B", "县", 75), view("C", "县", 75, grade="优秀"), view("D", "县", 75),
               view("E", "县", 50)]
    with app.app_context(), system_scope() as db:
        from jixiao.lifecycle.common import hooks

        decided = hooks(db, tenancy.get_by_code(db, "430400")).assessment_awards(
            scheme=scheme, results=results, ancestor_results={"D": {"rank": 7, "grade": "良好"}})
    assert decided["A"]["awards"] and not decided["B"]["awards"]
    assert decided["C"]["awards"] and decided["D"]["awards"]
    assert decided["E"]["notices"] and decided["B"]["notices"]


def test_the_ranking_notice_is_exported_as_pdf_and_excel(seeded):
    import re
    from io import BytesIO

    from openpyxl import load_workbook

    from tests.test_pages import csrf_from, page_login

    city = api_login(seeded, "hengyang_finance")
    campaign = open_campaign(city, "430400", "hunan-city-counties")
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
    # Another city cannot read Hengyang's notice.
    other = api_login(seeded, "yongzhou_finance")
    assert other.get(job["result"]["url"].replace("/download", "")).status_code == 404
