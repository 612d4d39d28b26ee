"""The generator and the services give the same derived values for the same inputs.

One project is walked through the real services (targets, budget, monthly monitoring reports, a self-evaluation,
a third-party and a finance evaluation) by a finance user of a seed bureau; the generator's row builders are given
the same indicators, readings and amounts, and every light, rate, attainment, row score, total and grade must match.
"""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from jixiao.accounts.models import User
from jixiao.db import TenantScope, scoped, set_scope, system_scope
from jixiao.lifecycle import evaluations, monitoring, projects, targets
from jixiao.lifecycle.targets import targets_for
from jixiao.tenancy import service as tenancy
from jixiao.testing import unique
from jixiao_demo.rules import TenantRules, evaluation_scores, monitoring_report

YEAR = 2026
# Every direction, both natures, a target of 0, a qualitative row, a 成本 row counted in 产出.
INDICATORS = [
    {"level1": "产出", "level2": "数量指标", "name": "改造校舍面积", "direction": "ge", "target_value": "12000",
     "unit": "平方米", "weight": "20"},
    {"level1": "产出", "level2": "质量指标", "name": "工程验收合格率", "direction": "ge", "target_value": "100",
     "unit": "%", "weight": "15"},
    {"level1": "产出", "level2": "质量指标", "name": "重大安全责任事故", "direction": "eq", "target_value": "0",
     "unit": "起", "weight": "5"},
    {"level1": "产出", "level2": "成本指标", "name": "单位面积改造成本", "direction": "le", "target_value": "2500",
     "unit": "元/平方米", "weight": "10"},
    {"level1": "成本", "level2": "经济成本指标", "name": "设备采购支出", "direction": "lt", "target_value": "300",
     "unit": "万元", "weight": "5"},
    {"level1": "产出", "level2": "成本指标", "name": "亩均补贴标准", "direction": "eq", "target_value": "120",
     "unit": "元/亩", "weight": "5"},
    {"level1": "效益", "level2": "社会效益指标", "name": "受益学生人数", "direction": "gt", "target_value": "4000",
     "unit": "人", "weight": "20"},
    {"level1": "效益", "level2": "可持续影响指标", "name": "长效保障机制", "direction": "qualitative",
     "target_text": "建立健全", "weight": "10"},
    {"level1": "满意度", "level2": "服务对象满意度指标", "name": "师生满意度", "direction": "ge", "target_value": "90",
     "unit": "%", "weight": "10"},
]
BUDGET = Decimal("1800000.00")
# (month, executed, readings by indicator position): behind, on track, ahead, over the caps, off the exact targets.
MONTHS = [
    (3, "90000", ["800", "100", "0", "2400", "30", "120", None, "partial", None]),
    (6, "700000", ["5200", "96", "0", "2800", "180", "110", "2100", "achieved", "91"]),
    (9, "1500000", ["11500", "99.5", "1", "3600", "260", "150", "3900", "not_achieved", "88.5"]),
    (11, "2300000", ["15000", "100", "0", "2100", "420", "119.99", "5000", "achieved", "97"]),
]
SELF = (["12500", "98", "0", "2600", "310", "118", "3500", ("partial", "0.75"), "92"], "1650000")
EXTERNAL = (["9000", "100", "2", "4800", "650", "135", "4100", ("not_achieved", "0.3"), "85"], "1900000",
            {"D1": ("achieved", "0.9"), "D2": ("partial", "0.7"), "D3": ("achieved", "1"), "D4": ("partial", "0.6"),
             "D5": ("not_achieved", "0.5"), "D6": ("achieved", "0.8"), "P1": "92.5", "P3": ("achieved", "0.85"),
             "P4": ("partial", "0.65"), "P5": ("achieved", "0.95")})


def _reading(indicator, raw):
    if raw is None:
        return {}
    if isinstance(raw, tuple):
        return {"band": raw[0], "band_fraction": raw[1]}
    return {"band": raw} if str(indicator.direction) == "qualitative" else {"actual_value": raw}


def _score_rows(evaluation):
    return [(s.position, s.indicator_id, s.form_code, s.group_name, s.level2, s.name, s.points, s.score,
             s.actual_value, None if s.band is None else str(s.band), s.band_fraction) for s in evaluation.scores]


def _generated_rows(scored):
    return [(r["position"], r["indicator_id"], r["form_code"], r["group_name"], r["level2"], r["name"], r["points"],
             r["score"], None if r["actual_value"] is None else Decimal(r["actual_value"]).quantize(Decimal("0.0001")),
             r["band"], None if r["band_fraction"] is None else Decimal(r["band_fraction"]).quantize(Decimal("0.0001")))
            for r in scored.rows]


def test_generator_and_services_compute_the_same_values(jixiao_app, create_user):
    username = create_user("431102", roles=["finance"])
    with jixiao_app.app_context():
        with system_scope() as db:
            tenant = tenancy.get_by_code(db, "431102")
        scope = TenantScope(read_ids=(tenant.id,), write_id=tenant.id, login_username=username)
        with scoped(scope) as db:
            actor = db.scalar(sa.select(User).where(User.username == username))
            set_scope(db, scope.with_(user_id=actor.id))
            agency = evaluations.create_agency(db, actor, tenant, unique("评价机构"))
            project = projects.create_project(db, actor, tenant, {
                "code": unique("AGREE"), "name": "义务教育薄弱环节改善", "year": YEAR, "kind": "project",
                "fund_type": "general_public", "department_code": "101", "is_new": False, "is_key": True,
                "requested_amount": BUDGET})
            targets.replace_targets(db, actor, tenant, project, {"overall_target": "按期完成改造任务。",
                                                                  "indicators": INDICATORS})
            targets.submit_targets(db, actor, tenant, project)
            targets.review_targets(db, actor, tenant, project, approve=True)
            projects.approve_budget(db, actor, tenant, project, BUDGET, project.version)
            indicators = list(targets_for(db, project).indicators)
            rules = TenantRules(db, tenant, YEAR)

            seen_lights = set()
            for month, executed, raw in MONTHS:
                readings = {i.id: _reading(i, r) for i, r in zip(indicators, raw, strict=True) if r is not None}
                filed = monitoring.submit_report(db, actor, tenant, project, {
                    "period": month, "executed_amount": executed, "cause": "进度滞后", "measure": "加快进度",
                    "values": [{"indicator_id": k, **v} for k, v in readings.items()]})
                built = monitoring_report(rules, indicators, month, Decimal(executed), project.budget_amount, readings)
                assert (built.execution_rate, built.light) == (filed.execution_rate, str(filed.light))
                by_indicator = {v.indicator_id: v for v in filed.values}
                for value in built.values:
                    service = by_indicator[value.indicator_id]
                    assert (value.attainment, value.light, value.band) == (
                        service.attainment, None if service.light is None else str(service.light),
                        None if service.band is None else str(service.band)), (month, value)
                    seen_lights.add(value.light)
            assert {"red", "yellow", "green", "blue"} <= seen_lights

            self_eval = evaluations.start_self_evaluation(db, actor, tenant, project)
            raw, executed = SELF
            readings = {str(i.id): _reading(i, r) for i, r in zip(indicators, raw, strict=True)}
            submitted = evaluations.submit(db, actor, tenant, self_eval, {
                "executed_amount": executed, "scores": [{"indicator_id": int(k), **v} for k, v in readings.items()]})
            built = evaluation_scores(rules, "self", indicators, project.budget_amount, Decimal(executed), readings)
            assert (built.total_score, built.grade, built.execution_score) == (
                submitted.total_score, submitted.grade, submitted.execution_score)
            assert built.form.as_dict() == submitted.form
            assert _generated_rows(built) == _score_rows(submitted)

            grades = {submitted.grade}
            for kind, agency_id in (("third_party", agency.id), ("finance", None)):
                external = evaluations.assign(db, actor, tenant, project, kind, agency_id)
                raw, executed, form_readings = EXTERNAL
                readings = {str(i.id): _reading(i, r) for i, r in zip(indicators, raw, strict=True)}
                for code, value in form_readings.items():
                    readings[f"form:{code}"] = ({"band": value[0], "band_fraction": value[1]} if isinstance(value, tuple)
                                                else {"actual_value": value})
                scores = [{"indicator_id": int(k), **v} for k, v in readings.items() if not k.startswith("form:")]
                scores += [{"form_code": k.removeprefix("form:"), **v} for k, v in readings.items() if k.startswith("form:")]
                submitted = evaluations.submit(db, actor, tenant, external, {"executed_amount": executed, "scores": scores})
                built = evaluation_scores(rules, kind, indicators, project.budget_amount, Decimal(executed), readings)
                assert (built.total_score, built.grade, built.execution_score) == (
                    submitted.total_score, submitted.grade, submitted.execution_score), kind
                assert built.form.as_dict() == submitted.form
                assert _generated_rows(built) == _score_rows(submitted), kind
                grades.add(submitted.grade)
            assert len(grades) >= 2  # the readings were chosen to land in different bands
