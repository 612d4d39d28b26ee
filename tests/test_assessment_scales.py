"""Schemes beyond points: ordinal scales, item states, declared aggregations, bands, a plugin's metric of amounts.

A vendor's foreign scheme (a PEFA-like A/B/C/D assessment) is registered by a test plugin through
``jixiao.testing.with_plugin`` for 永州市 (431100), which assesses its eleven counties. Records are made in 2045
(no other test uses it) in three of them: 冷水滩区 (431103), 零陵区 (431102) and 东安县 (431122); the other eight
have none. Every expected value below is worked out by hand from the rule the scheme states.
"""

from __future__ import annotations

import io
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from jixiao import hookimpl
from jixiao.accounts.models import Department
from jixiao.db import TenantScope, scoped, system_scope, utcnow
from jixiao.lifecycle.models import (
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
from jixiao.testing import api_login, ask_hook, unique
from jixiao.toolkit import AssessmentAggregate, AssessmentItemView, Metric
from tests.test_assessment import ok

YEAR = 2045
CITY = "431100"
LENGSHUITAN, LINGLING, DONGAN = "431103", "431102", "431122"
COUNTIES = 11


# ---- The vendor's plugin --------------------------------------------------------------------------------------


def _deviation_numerator(session, subjects):
    """|Σ executed − Σ approved| over the subject's projects with a year-end (period 12) monitoring report."""
    executed = sa.func.sum(sa.cast(MonitoringReport.executed_amount, sa.Numeric(18, 2)))
    approved = sa.func.sum(sa.cast(Project.approved_amount, sa.Numeric(18, 2)))
    stmt, _ = subjects.projects(sa.func.abs(executed - approved))
    return stmt.join(MonitoringReport, MonitoringReport.project_id == Project.id).where(
        MonitoringReport.period == 12, subjects.by_cutoff(MonitoringReport.created_at))


def _deviation_denominator(session, subjects):
    """Σ approved over the same projects."""
    stmt, _ = subjects.projects(sa.func.sum(sa.cast(Project.approved_amount, sa.Numeric(18, 2))))
    return stmt.join(MonitoringReport, MonitoringReport.project_id == Project.id).where(
        MonitoringReport.period == 12, subjects.by_cutoff(MonitoringReport.created_at))


def dimension(code: str, name: str) -> dict:
    return {"code": code, "name": name, "kind": "assessed", "scale": "abcd"}


#: Deviation of execution from the approved budget, to labels (lower is better) and to points.
DEVIATION_TO_LABELS = [{"min": "0.15", "label": "D"}, {"min": "0.10", "label": "C"}, {"min": "0.05", "label": "B"},
                       {"min": 0, "label": "A"}]
DEVIATION_TO_POINTS = [{"min": "0.15", "points": 0}, {"min": "0.10", "points": 10}, {"min": "0.05", "points": 20},
                       {"min": 0, "points": 25}]
#: A conversion table of two dimensions (either order), and of one when the other is left out.
TWO_DIMENSIONS = [
    {"labels": ["A", "A"], "label": "A"}, {"labels": ["A", "B"], "label": "B+"}, {"labels": ["A", "C"], "label": "B"},
    {"labels": ["A", "D"], "label": "C+"}, {"labels": ["B", "B"], "label": "B"}, {"labels": ["B", "C"], "label": "C+"},
    {"labels": ["B", "D"], "label": "C"}, {"labels": ["C", "C"], "label": "C"}, {"labels": ["C", "D"], "label": "D+"},
    {"labels": ["D", "D"], "label": "D"}, {"labels": ["A"], "label": "A"}, {"labels": ["B"], "label": "B"},
    {"labels": ["C"], "label": "C"}, {"labels": ["D"], "label": "D"},
]

ORDINAL = {
    "code": "test-ordinal", "name": "公共财政管理评估（测试）", "rule_set": "test-ordinal-2045", "years": [YEAR, None],
    "for_levels": ["city"], "subjects": "counties",
    "scales": [{"code": "abcd", "name": "维度评分", "labels": ["A", "B", "C", "D"]},
               {"code": "pefa", "name": "指标评分", "labels": ["A", "B+", "B", "C+", "C", "D+", "D"]}],
    "states": ["not_applicable", "insufficient_information"],
    "aggregate": {"method": "weakest", "scale": "pefa"},
    "groups": [
        {"code": "PI1", "name": "预算可靠性", "aggregate": {"method": "weakest", "plus": "any"}, "indicators": [
            dimension("D11", "支出总额与预算"), dimension("D12", "支出结构与预算"),
            {"code": "D13", "name": "预算执行偏差", "kind": "computed", "metric": "budget_deviation", "scale": "abcd",
             "bands": DEVIATION_TO_LABELS}]},
        {"code": "PI2", "name": "财政透明度", "aggregate": {"method": "weakest", "plus": "all"}, "indicators": [
            dimension("D21", "预算分类"), dimension("D22", "预算文件"), dimension("D23", "信息公开")]},
        {"code": "PI3", "name": "预算编制", "aggregate": {"method": "table", "scale": "pefa", "table": TWO_DIMENSIONS},
         "indicators": [dimension("D31", "预算编制程序"), dimension("D32", "中期视角")]},
        {"code": "PI4", "name": "外部监督", "aggregate": {"method": "hook", "name": "most-common", "scale": "pefa"},
         "indicators": [dimension("D41", "审计"), dimension("D42", "人大审查")]},
    ],
}

POINTS = {
    "code": "test-quality", "name": "工作质量考核（测试）", "rule_set": "test-quality-2045", "years": [YEAR, None],
    "for_levels": ["city"], "subjects": "counties",
    "scales": [{"code": "quality", "labels": ["好", "较好", "一般", "差"], "points": {"好": 25, "较好": 20, "一般": 15, "差": 0}},
               {"code": "rating", "labels": ["优", "良", "中", "差"]}],
    "states": ["not_applicable", "insufficient_information"],
    "aggregate": {"method": "table", "scale": "rating",
                  "table": [{"min": 90, "label": "优"}, {"min": 75, "label": "良"}, {"min": 60, "label": "中"},
                            {"min": 0, "label": "差"}]},
    "groups": [
        {"code": "G1", "name": "基础工作", "aggregate": "sum", "indicators": [
            {"code": "Q1", "name": "制度建设", "kind": "assessed", "scale": "quality"},
            {"code": "Q2", "name": "宣传培训", "kind": "assessed", "scale": "quality"},
            {"code": "Q3", "name": "信息报送", "kind": "assessed", "scale": "quality"}]},
        {"code": "G2", "name": "预算执行", "indicators": [
            {"code": "X1", "name": "预算执行偏差", "max": 25, "kind": "computed", "metric": "budget_deviation",
             "bands": DEVIATION_TO_POINTS}]},
    ],
}

#: A scheme exactly as campaigns saved it before scales and aggregations existed (``empty``, no ``aggregate``).
OLD_SAVED = {
    "code": "test-old", "name": "旧版考核方案（测试）", "rule_set": "test-old-2020", "years": [2018, None],
    "for_levels": ["city"], "subjects": "counties", "grades": [["优秀", 90], ["良好", 80], ["合格", 60], ["不合格", 0]],
    "groups": [
        {"name": "管理", "indicators": [
            {"code": "A1", "name": "报送绩效目标的单位占比", "max": 40, "kind": "computed", "metric": "targets_units"},
            {"code": "R1", "name": "整改按期完成率", "max": 20, "kind": "computed", "metric": "rectification_on_time",
             "empty": "full"},
            {"code": "K1", "name": "重点项目财政评价覆盖率", "max": 20, "kind": "computed", "metric": "key_evaluations",
             "empty": "zero"},
            {"code": "E1", "name": "制度建设", "max": 20, "kind": "assessed"}]},
        {"name": "加减分", "indicators": [
            {"code": "F1", "name": "工作创新加分", "max": 5, "kind": "bonus"},
            {"code": "F2", "name": "数据报送不实扣分", "max": 10, "kind": "deduction"}]},
    ],
}


class VendorRules:
    @hookimpl
    def register_assessment_metrics(self):
        return [Metric("budget_deviation", "预算执行偏差率", _deviation_numerator, _deviation_denominator, amount=True)]

    @hookimpl
    def register_assessment_schemes(self, tenant, year):
        return [dict(ORDINAL), dict(POINTS), dict(OLD_SAVED)]

    @hookimpl
    def assessment_aggregate(self, tenant, scheme, group, items):
        """"most-common": the label most counted items got, a tie going to the better one; an item counted
        without a label (not submitted, insufficient evidence) counts as the scale's lowest."""
        if group["aggregate"].get("name") != "most-common":
            return None
        order = next(s["labels"] for s in scheme["scales"] if s["code"] == "abcd")
        tally = Counter(item.label or order[-1] for item in items if item.counted)
        best = max(tally.values())
        return AssessmentAggregate(label=min((label for label, n in tally.items() if n == best), key=order.index),
                                   note="多数评定")

    @hookimpl
    def assessment_awards(self, tenant, scheme, results, ancestor_results):
        """What it reads of each result: its groups' labels and its items' states."""
        if scheme["code"] != "test-ordinal":
            return None
        decided = {}
        for result in results:
            groups = {g.code: g.label for g in result.groups}
            unknown = sum(1 for i in result.items if i.state == "insufficient_information")
            decided[result.code] = {"awards": ["外部监督评为 A"] if groups.get("PI4") == "A" else [],
                                    "notices": [f"信息不足 {unknown} 项"] if unknown else []}
        return decided


RULES = VendorRules()


# ---- Records and helpers ----------------------------------------------------------------------------------------


def seed(app, county: str, units: list[dict]) -> None:
    """One project per unit in ``YEAR``: approved and budgeted with targets filed, a year-end monitoring report of
    what it executed — or, ``{"draft": amount}``, a draft with neither."""
    with app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, county)
        with scoped(TenantScope(read_ids=(tenant.id,), write_id=tenant.id)) as db:
            for unit in units:
                department = Department(tenant_id=tenant.id, code=unique("S")[-12:], name="评估单位")
                db.add(department)
                db.flush()
                draft = "draft" in unit
                project = Project(tenant_id=tenant.id, department_id=department.id, year=YEAR, code=unique("P"),
                                  name="部门整体支出", kind=ProjectKind.DEPARTMENT_WHOLE, fund_type=FundType.GENERAL_PUBLIC,
                                  is_new=False, is_key=False,
                                  requested_amount=Decimal(unit.get("draft") or unit["approved"]),
                                  approved_amount=None if draft else Decimal(unit["approved"]),
                                  stage=Stage.DRAFT if draft else Stage.BUDGETED)
                db.add(project)
                db.flush()
                if draft:
                    continue
                db.add(TargetSet(tenant_id=tenant.id, project_id=project.id, overall_target="x",
                                 status=TargetStatus.APPROVED, submitted_at=utcnow()))
                db.add(MonitoringReport(tenant_id=tenant.id, project_id=project.id, period=12,
                                        executed_amount=Decimal(unit["executed"]), execution_rate=Decimal("100"),
                                        light=Light.GREEN))
            db.commit()


@pytest.fixture(scope="module", autouse=True)
def records(jixiao_app):
    # Deviation |executed − approved| / approved: 冷水滩区 0.02, 零陵区 0.08 (its draft has no report), 东安县 0.20.
    seed(jixiao_app, LENGSHUITAN, [{"approved": "1000000", "executed": "980000"}])
    seed(jixiao_app, LINGLING, [{"approved": "1000000", "executed": "1080000"}, {"draft": "500000"}])
    seed(jixiao_app, DONGAN, [{"approved": "2000000", "executed": "1600000"}])


@pytest.fixture
def vendor(with_plugin):
    """The app with the vendor's plugin enabled for 永州市 and its counties; jobs run in the request."""
    made = with_plugin(RULES, CITY)
    made.config["REDIS_URL"] = None
    return made


def base(path: str = "") -> str:
    return f"/api/v1/tenants/{CITY}/assessments{path}"


def version(user, campaign_id: int) -> int:
    return ok(user.get(base(f"/{campaign_id}")))["version"]


def open_campaign(user, scheme: str, year: int = YEAR) -> dict:
    return ok(user.post(base(), json={"year": year, "scheme": scheme,
                                      "deadline": (date.today() + timedelta(days=30)).isoformat()}), 201)


def subjects_of(user, campaign_id: int) -> dict[str, int]:
    return {row["code"]: row["id"] for row in ok(user.get(base(f"/{campaign_id}/subjects")))}


def give(user, campaign_id: int, subject_id: int, indicator: str, **given):
    return user.put(base(f"/{campaign_id}/scores"), json={"subject_id": subject_id, "indicator": indicator,
                                                           "version": version(user, campaign_id), **given})


def evidence(user, campaign_id: int, subject_id: int, indicator: str) -> None:
    answer = user.post(base(f"/{campaign_id}/subjects/{subject_id}/evidence"),
                       data={"indicator": indicator, "note": "实地核查", "file": (io.BytesIO(b"%PDF-1.4 x"), "核查.pdf")},
                       content_type="multipart/form-data")
    assert answer.status_code == 204, answer.get_json()


def rate(user, campaign_id: int, subject_id: int, given: dict[str, str]) -> None:
    """Each item its label (with evidence on record) or its state (which needs none)."""
    for indicator, value in given.items():
        if value in ("not_applicable", "insufficient_information"):
            ok(give(user, campaign_id, subject_id, indicator, state=value))
        else:
            evidence(user, campaign_id, subject_id, indicator)
            ok(give(user, campaign_id, subject_id, indicator, label=value))


def finalize(user, campaign_id: int) -> dict[str, dict]:
    job = ok(user.post(base(f"/{campaign_id}/finalize"), json={
        "force": True, "reason": "测试提前汇总", "version": version(user, campaign_id)}), 202)
    assert job["status"] == "succeeded", job
    return {row["code"]: row for row in ok(user.get(base(f"/{campaign_id}/ranking")))}


def withdraw(user, campaign_id: int) -> None:
    ok(user.post(base(f"/{campaign_id}/withdraw"), json={"reason": "测试结束", "version": version(user, campaign_id)}))


def score_of(row: dict, indicator: str) -> dict:
    return next(s for s in row["scores"] if s["indicator_code"] == indicator)


def groups_of(row: dict) -> dict[str, dict]:
    return {g["code"]: g for g in row["groups"]}


# ---- The ordinal scheme -----------------------------------------------------------------------------------------


def test_an_ordinal_scheme_combines_by_weakest_link_conversion_table_and_a_plugins_rule(vendor, create_user):
    city = api_login(vendor, "yongzhou_finance")
    offered = {s["code"]: s for s in ok(city.get(base(f"/schemes?year={YEAR}")))}
    assert [s["labels"] for s in offered["test-ordinal"]["scales"]] == [["A", "B", "C", "D"],
                                                                         ["A", "B+", "B", "C+", "C", "D+", "D"]]
    campaign = open_campaign(city, "test-ordinal")
    # The campaign answers with its scheme normalised: every default written out.
    scheme = campaign["scheme"]
    assert scheme["aggregate"] == {"method": "weakest", "scale": "pefa"}
    assert scheme["groups"][0]["aggregate"] == {"method": "weakest", "plus": "any"}
    assert scheme["groups"][0]["indicators"][0] == {"code": "D11", "name": "支出总额与预算", "max": 0,
                                                    "kind": "assessed", "scale": "abcd",
                                                    "states": ["not_applicable", "insufficient_information"]}
    ids = subjects_of(city, campaign["id"])
    rate(city, campaign["id"], ids[LENGSHUITAN], {"D11": "A", "D12": "B", "D21": "A", "D22": "C", "D23": "C",
                                                  "D31": "A", "D32": "B", "D41": "B", "D42": "C"})
    rate(city, campaign["id"], ids[LINGLING], {"D11": "C", "D12": "insufficient_information", "D21": "B", "D22": "A",
                                               "D23": "A", "D31": "not_applicable", "D32": "B", "D41": "A", "D42": "A"})
    rate(city, campaign["id"], ids[DONGAN], {"D11": "B", "D12": "B", "D21": "B", "D22": "B", "D23": "B", "D31": "D",
                                             "D32": "B", "D41": "C"})
    # 东安县's D42 is rated without evidence on record: insufficient evidence, counted at the lowest label.
    unproven = ok(give(city, campaign["id"], ids[DONGAN], "D42", label="A"))
    assert (unproven["status"], unproven["label"], unproven["points"]) == ("insufficient_evidence", None, "0.00")
    rows = finalize(city, campaign["id"])

    cold, ling, dong = rows[LENGSHUITAN], rows[LINGLING], rows[DONGAN]
    # D13, the vendor's metric of amounts: |executed − approved| / approved, mapped by bands to labels.
    d13 = score_of(ling, "D13")
    assert (d13["value"], d13["label"], d13["status"]) == ("0.0800", "B", "scored")
    assert d13["comment"] == "预算执行偏差率：8.00万元 / 100.00万元，8.00%，B"
    assert (score_of(cold, "D13")["label"], score_of(dong, "D13")["label"]) == ("A", "D")
    assert score_of(dong, "D13")["comment"] == "预算执行偏差率：40.00万元 / 200.00万元，20.00%，D"

    # 冷水滩区. PI1 weakest of A, B, A = B; another item is better (plus: any) → B+. PI2 weakest of A, C, C = C; not
    # every other item is better (plus: all) → C. PI3 table (A, B) → B+. PI4 the plugin: B and C once each, the tie
    # to the better → B. The subject: the weakest of B+, C, B+, B on A > B+ > B > C+ > C > D+ > D → C.
    assert {c: g["label"] for c, g in groups_of(cold).items()} == {"PI1": "B+", "PI2": "C", "PI3": "B+", "PI4": "B"}
    assert groups_of(cold)["PI4"]["note"] == "多数评定"
    # 零陵区. PI1: D12 insufficient information is left out → C and B (D13) → C+. PI2 weakest of B, A, A = B, every
    # other better → B+. PI3: D31 not applicable is left out → the one-dimension row (B) → B. PI4 A, A → A.
    # The subject: weakest of C+, B+, B, A → C+.
    assert {c: g["label"] for c, g in groups_of(ling).items()} == {"PI1": "C+", "PI2": "B+", "PI3": "B", "PI4": "A"}
    # 东安县. PI1 B, B, D → D, both others better → D+. PI2 B, B, B → B (none better). PI3 (D, B): the row (B, D),
    # in any order → C. PI4: C, and D42 (insufficient evidence, no label: the lowest, D) → one each, the better
    # → C. The subject: D+.
    assert {c: g["label"] for c, g in groups_of(dong).items()} == {"PI1": "D+", "PI2": "B", "PI3": "C", "PI4": "C"}
    assert (cold["label"], ling["label"], dong["label"]) == ("C", "C+", "D+")
    # No points in this scheme: the total is 0; the label ranks, and grades (the scheme names no grade bands).
    assert (cold["total"], cold["full_marks"], cold["grade"], ling["grade"], dong["grade"]) == (
        "0.00", "0.00", "C", "C+", "D+")
    # Coverage is the share of items that count: 零陵区 has two of ten left out (D12, D31); the eight counties
    # without records have D13 (no data: not applicable) left out.
    assert (cold["coverage"], ling["coverage"], dong["coverage"]) == ("1.0000", "0.8000", "1.0000")
    others = [row for code, row in rows.items() if code not in (LENGSHUITAN, LINGLING, DONGAN)]
    assert len(others) == COUNTIES - 3
    # Nothing reported: every assessed item not submitted (counted at D), so every group D and the subject D.
    assert all(r["label"] == "D" and r["coverage"] == "0.9000" and r["ranked"] for r in others)
    assert all(score_of(r, "D11")["status"] == "not_submitted" for r in others)
    assert (ling["rank"], cold["rank"], dong["rank"]) == (1, 2, 3)
    assert {r["rank"] for r in others} == {4}
    # The awards hook read the groups' labels and the items' states.
    assert (ling["awards"], ling["notices"]) == (["外部监督评为 A"], ["信息不足 1 项"])
    assert (cold["awards"], cold["notices"]) == ([], [])

    # The subject reads its result: its label and its groups first-class, each item with its label.
    county = api_login(vendor, create_user(LINGLING, roles=["finance"]))
    mine = ok(county.get(f"/api/v1/tenants/{LINGLING}/assessment-results/{campaign['id']}"))
    assert mine["result"]["label"] == "C+" and mine["result"]["grade"] == "C+"
    assert [(g["code"], g["label"]) for g in mine["result"]["groups"]] == [
        ("PI1", "C+"), ("PI2", "B+"), ("PI3", "B"), ("PI4", "A")]
    items = {i["code"]: i for i in mine["result"]["items"]}
    assert (items["D11"]["label"], items["D12"]["state"], items["D12"]["counted"]) == (
        "C", "insufficient_information", False)
    assert items["D11"]["scale"] == ["A", "B", "C", "D"]
    # Its own result only: the city's campaign and a sibling's result stay closed to it.
    assert county.get(base(f"/{campaign['id']}/ranking")).status_code == 403
    assert county.get(f"/api/v1/tenants/{LENGSHUITAN}/assessment-results/{campaign['id']}").status_code == 404
    assert api_login(vendor, "hengyang_finance").get(base(f"/{campaign['id']}")).status_code == 404  # another city

    # The campaign's page and its Excel export show the labels and the groups' results.
    from io import BytesIO

    from openpyxl import load_workbook

    from tests.test_pages import page_login

    client = vendor.test_client()
    page_login(client, "yongzhou_finance")
    page = client.get(f"/t/{CITY}/assessments/{campaign['id']}").get_data(as_text=True)
    assert "分组结果" in page and "总体结果" in page and "<b>C+</b>" in page and "A/B/C/D" in page
    sheet = load_workbook(BytesIO(client.get(f"/t/{CITY}/exports/rankings/{campaign['id']}").data)).active
    headings = [c.value for c in sheet[3]]
    assert headings[-5:] == ["考核结果", "预算可靠性", "财政透明度", "预算编制", "外部监督"]
    lines = {r[2]: r for r in sheet.iter_rows(min_row=4, values_only=True)}
    assert list(lines[LINGLING][-5:]) == ["C+", "C+", "B+", "B", "A"]
    withdraw(city, campaign["id"])


# ---- Points on a scale, states, bands to points, a table of points ranges ------------------------------------------


def test_a_scale_with_points_leaves_states_out_of_the_maximum_and_a_table_labels_the_total(vendor):
    city = api_login(vendor, "yongzhou_finance")
    campaign = open_campaign(city, "test-quality")
    ids = subjects_of(city, campaign["id"])
    rate(city, campaign["id"], ids[LENGSHUITAN], {"Q1": "好", "Q2": "较好", "Q3": "not_applicable"})
    rate(city, campaign["id"], ids[LINGLING], {"Q1": "一般", "Q2": "insufficient_information", "Q3": "好"})
    rate(city, campaign["id"], ids[DONGAN], {"Q1": "较好", "Q3": "好"})
    ok(give(city, campaign["id"], ids[DONGAN], "Q2", label="较好"))  # no evidence: insufficient, 0, counted
    rows = finalize(city, campaign["id"])
    cold, ling, dong = rows[LENGSHUITAN], rows[LINGLING], rows[DONGAN]
    # X1 by bands to points: 0.02 → 25, 0.08 → 20, 0.20 → 0.
    assert [score_of(r, "X1")["points"] for r in (cold, ling, dong)] == ["25.00", "20.00", "0.00"]
    # 冷水滩区: 好 25 + 较好 20 (Q3 not applicable: out of the maximum) + X1 25 = 70 of 75 → 70 × 100 / 75 = 93.33.
    assert (groups_of(cold)["G1"]["points"], groups_of(cold)["G1"]["maximum"]) == ("45.00", "50.00")
    assert (cold["total"], cold["measurable"], cold["coverage"]) == ("93.33", "75.00", "0.7500")
    # 零陵区: 一般 15 + 好 25 (Q2 insufficient information: out) + 20 = 60 of 75 → 80.00.
    assert (ling["total"], ling["measurable"]) == ("80.00", "75.00")
    # 东安县: 较好 20 + 0 (insufficient evidence, counted) + 好 25 + 0 = 45 of 100 → 45.00.
    assert (dong["total"], dong["measurable"], score_of(dong, "Q2")["status"]) == (
        "45.00", "100.00", "insufficient_evidence")
    # The subject's label from the table of points ranges: ≥ 90 优, ≥ 75 良, ≥ 60 中, else 差; the grade is it.
    assert [(r["label"], r["grade"]) for r in (cold, ling, dong)] == [("优", "优"), ("良", "良"), ("差", "差")]
    # The counties without records: Q not submitted (0 of 75), X1 no data (not applicable, and its group too).
    others = [row for code, row in rows.items() if code not in (LENGSHUITAN, LINGLING, DONGAN)]
    assert all((r["total"], r["label"], groups_of(r)["G2"]["state"]) == ("0.00", "差", "not_applicable")
               for r in others)
    # Ranked by the label first (优 > 良 > 中 > 差), then by the total among equals.
    assert (cold["rank"], ling["rank"], dong["rank"]) == (1, 2, 3) and {r["rank"] for r in others} == {4}
    withdraw(city, campaign["id"])


# ---- A scheme saved before this release -------------------------------------------------------------------------


def test_an_old_saved_scheme_opens_finalises_and_publishes_as_before(vendor, create_user):
    from jixiao.assessment.models import Campaign

    city = api_login(vendor, "yongzhou_finance")
    campaign = open_campaign(city, "test-old")
    # The row as an earlier release saved it: the plugin's dict as it was, ``empty`` and all.
    with vendor.app_context():
        with system_scope() as db:
            tenant_id = tenancy.get_by_code(db, CITY).id
        with scoped(TenantScope(read_ids=(tenant_id,), write_id=tenant_id)) as db:
            db.get(Campaign, campaign["id"]).scheme = OLD_SAVED
            db.commit()
    read = ok(city.get(base(f"/{campaign['id']}")))["scheme"]
    assert read["aggregate"] == {"method": "sum"} and read["scales"] == [] and read["states"] == []
    k1 = read["groups"][0]["indicators"][2]
    assert (k1["no_data"], "empty" in k1) == ("zero", False)
    ids = subjects_of(city, campaign["id"])
    ok(give(city, campaign["id"], ids[LENGSHUITAN], "F1", points="5"))
    ok(give(city, campaign["id"], ids[DONGAN], "F2", points="10"))
    refused = give(city, campaign["id"], ids[LINGLING], "E1", state="not_applicable")
    assert refused.status_code == 400 and "state" in refused.get_json()["error"]["fields"]  # the scheme allows none
    rows = finalize(city, campaign["id"])
    # By hand. A1 targets by units (of 40); R1 no notices: empty full → 20, counted; K1 no key projects: empty
    # zero → 0 of 20, counted; E1 not submitted → 0 of 20. 冷水滩区 1/1: 40 + 20 = 60, + 5 bonus = 65.00 合格.
    # 零陵区 1 of 2 units: 20 + 20 = 40.00 不合格. 东安县 40 + 20 = 60 − 10 = 50.00 不合格. The eight without records:
    # A1 no data (not applicable) → 20 of 60 → 33.33, coverage 60%, ranked.
    assert [(rows[c]["total"], rows[c]["grade"]) for c in (LENGSHUITAN, LINGLING, DONGAN)] == [
        ("65.00", "合格"), ("40.00", "不合格"), ("50.00", "不合格")]
    ling = rows[LINGLING]
    assert [score_of(ling, c)["points"] for c in ("A1", "R1", "K1", "E1")] == ["20.00", "20.00", "0.00", "0.00"]
    assert [score_of(ling, c)["status"] for c in ("A1", "R1", "K1", "E1")] == [
        "scored", "no_data", "no_data", "not_submitted"]
    assert (ling["measurable"], ling["label"]) == ("100.00", None)
    assert [(g["name"], g["method"], g["points"], g["maximum"]) for g in ling["groups"]] == [
        ("管理", "sum", "40.00", "100.00"), ("加减分", "sum", None, None)]
    others = [row for code, row in rows.items() if code not in (LENGSHUITAN, LINGLING, DONGAN)]
    assert all((r["total"], r["coverage"], r["rank"]) == ("33.33", "0.6000", 4) for r in others)
    assert (rows[LENGSHUITAN]["rank"], rows[DONGAN]["rank"], ling["rank"]) == (1, 2, 3)
    published = ok(city.post(base(f"/{campaign['id']}/publish"), json={
        "force": True, "reason": "测试", "version": version(city, campaign["id"])}), 202)
    assert published["status"] == "succeeded"
    county = api_login(vendor, create_user(LINGLING, roles=["finance"]))
    mine = ok(county.get(f"/api/v1/tenants/{LINGLING}/assessment-results/{campaign['id']}"))["result"]
    assert (mine["total"], mine["provisional"], mine["rank"], mine["of"]) == ("40.00", False, 3, COUNTIES)


# ---- Refusals name the field --------------------------------------------------------------------------------


def test_a_score_names_the_refused_field(vendor):
    city = api_login(vendor, "yongzhou_finance")
    year = YEAR + 1  # a year of its own: the other tests' campaigns keep theirs
    quality, old = open_campaign(city, "test-quality", year), open_campaign(city, "test-old", year)
    subject = subjects_of(city, quality["id"])[LINGLING]

    def refused(campaign, indicator, **given):
        answer = give(city, campaign["id"], subject if campaign is quality else subjects_of(city, old["id"])[LINGLING],
                      indicator, **given)
        assert answer.status_code == 400, answer.get_json()
        return answer.get_json()["error"]["fields"]

    assert refused(quality, "Q1", label="优秀") == {"label": "“优秀”不是“制度建设”的等级；可选：好、较好、一般、差"}
    assert "points" in refused(quality, "Q1", points="20")  # rated on a scale: a label, not points
    assert "label" in refused(quality, "Q1")  # neither
    assert "state" in refused(quality, "Q1", state="unknown")  # not one of the states at all
    assert "state" in refused(quality, "Q1", state="not_applicable", label="好")
    assert "label" in refused(old, "E1", label="好")  # scored in points: no label
    assert "points" in refused(old, "E1", points="25")  # above its maximum
    assert "state" in refused(old, "E1", state="insufficient_information")  # the old scheme allows no state
    assert "indicator" in refused(quality, "X1", label="好")  # computed: overridden, not scored
    for campaign in (quality, old):
        withdraw(city, campaign["id"])


def test_a_scheme_the_core_cannot_read_names_the_place():
    from jixiao.assessment.scheme import SchemeError, read

    def problem(**change) -> str:
        with pytest.raises(SchemeError) as raised:
            read({**ORDINAL, **change})
        return str(raised.value)

    wrong_band = [{**ORDINAL["groups"][0], "indicators": [
        {**ORDINAL["groups"][0]["indicators"][2], "bands": [{"min": 0, "label": "E"}]}]}]
    assert "D13" in problem(groups=wrong_band) and "E" in problem(groups=wrong_band)
    assert "method" in problem(aggregate={"method": "average"})
    assert "scale" in problem(aggregate={"method": "weakest"})  # the scheme's weakest link names its scale
    mixed = [{"code": "M", "name": "混合", "aggregate": "weakest", "indicators": [
        dimension("M1", "甲"), {"code": "M2", "name": "乙", "max": 10, "kind": "assessed"}]}]
    assert "同一等级" in problem(groups=mixed)


def test_hook_assessment_aggregate_answers_for_the_groups_a_scheme_gives_it(vendor, app):
    items = (AssessmentItemView(code="D41", name="审计", kind="assessed", state="scored", points=Decimal(0),
                                maximum=Decimal(0), label="C", group="PI4"),
             AssessmentItemView(code="D42", name="人大审查", kind="assessed", state="scored", points=Decimal(0),
                                maximum=Decimal(0), label="C", group="PI4"),
             AssessmentItemView(code="D43", name="不适用", kind="assessed", state="not_applicable", points=Decimal(0),
                                maximum=Decimal(0), label=None, group="PI4", counted=False))
    from jixiao.assessment.scheme import normalised

    scheme = normalised(ORDINAL)
    group = {**scheme["groups"][3], "level": "group"}
    answer = ask_hook(vendor, LINGLING, "assessment_aggregate", scheme=scheme, group=group, items=items)
    assert answer == AssessmentAggregate(label="C", note="多数评定")
    # Without the plugin nobody answers (the national rules have no aggregation of their own).
    assert ask_hook(app, LINGLING, "assessment_aggregate", scheme=scheme, group=group, items=items) is None
