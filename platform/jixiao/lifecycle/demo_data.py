"""A realistic year of lifecycle records for one tenant, made through the services (so every rule holds).

``generate(tenant_code, year, size)`` creates ``size`` projects spread over every kind, fund type and stage:
drafts, targets awaiting review, budgets approved with monitoring lights of every colour, self-evaluated and
graded projects, third-party evaluations with open and overdue rectifications, and closed projects whose
results were applied and published. The demo, the tests and the benchmarks share it.
"""

from __future__ import annotations

import contextlib
import io
import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from jixiao.accounts.models import Department, User
from jixiao.catalog import service as catalog
from jixiao.db import TenantScope, scoped, system_scope
from jixiao.errors import Conflict
from jixiao.lifecycle import common, evaluations, monitoring, projects, rectification, results, targets
from jixiao.lifecycle.models import Agency, Light, Project, RectificationNotice
from jixiao.tenancy import service as tenancy

KINDS = ["project", "policy", "department_whole"]
FUNDS = ["general_public", "government_fund", "state_capital", "social_insurance"]
NAMES = {
    "project": ["农村道路提质改造", "义务教育薄弱环节改善", "基层医疗设备购置", "高标准农田建设", "城区排水管网改造",
                "乡村振兴产业扶持", "公共文化服务提升", "职业技能培训"],
    "policy": ["城乡居民医保补助政策", "耕地地力保护补贴", "困难群众救助政策", "创业担保贷款贴息"],
    "department_whole": ["部门整体支出"],
}
# The stages a demo project is taken to, in order: 0 draft … 7 closed and published.
STAGES = ["draft", "targets_submitted", "targets_approved", "budgeted", "evaluated", "rectifying", "overdue", "closed"]
# Executed share of the budget by the monitoring month, to light every colour (expected share = month / 12).
LIGHT_SHARES = {Light.RED: Decimal("0.3"), Light.YELLOW: Decimal("0.7"), Light.GREEN: Decimal("1.0"),
                Light.BLUE: Decimal("1.3")}
# Share of each ex-ante dimension's points given, dimension by dimension (the national five score 18, 16, 17, 17, 18).
EXANTE_SHARES = [Decimal("0.9"), Decimal("0.8"), Decimal("0.85"), Decimal("0.85"), Decimal("0.9")]
# Weights of the catalog indicators a demo table takes, by level 1 (as many as listed, in catalog order).
CATALOG_WEIGHTS = {"产出": ["30", "20"], "效益": ["30"], "满意度": ["10"]}


def indicator_table(kind: str) -> list[dict[str, Any]]:
    if kind == "department_whole":
        return [
            {"level1": "产出", "level2": "数量指标", "name": "重点工作任务完成数", "direction": "ge",
             "target_value": "12", "unit": "项", "weight": "30"},
            {"level1": "产出", "level2": "时效指标", "name": "资金按时支付率", "direction": "ge",
             "target_value": "95", "unit": "%", "weight": "20"},
            {"level1": "效益", "level2": "社会效益指标", "name": "履职目标实现程度", "direction": "qualitative",
             "target_text": "有效履职", "weight": "30"},
            {"level1": "满意度", "level2": "服务对象满意度指标", "name": "服务对象满意度", "direction": "ge",
             "target_value": "90", "unit": "%", "weight": "10"},
        ]
    return [
        {"level1": "产出", "level2": "数量指标", "name": "完成建设（服务）任务量", "direction": "ge",
         "target_value": "100", "unit": "个", "weight": "30"},
        {"level1": "产出", "level2": "成本指标", "name": "单位成本", "direction": "le", "target_value": "50",
         "unit": "万元", "weight": "20"},
        {"level1": "效益", "level2": "社会效益指标", "name": "受益群众人数", "direction": "ge",
         "target_value": "2000", "unit": "人", "weight": "30"},
        {"level1": "满意度", "level2": "服务对象满意度指标", "name": "受益群众满意度", "direction": "ge",
         "target_value": "90", "unit": "%", "weight": "10"},
    ]


def catalog_table(items: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """A target table of a catalog category's own indicators, their reference values as targets, for a tenant
    whose catalog rule refuses common indicators from elsewhere; ``None`` when the category lacks 产出 or 效益."""
    table: list[dict[str, Any]] = []
    for level1, weights in CATALOG_WEIGHTS.items():
        usable = [i for i in items if i["level1"] == level1 and (i["direction"] == "qualitative" or _number(i["typical_value"]))]
        for item, weight in zip(usable, weights, strict=False):
            row = {key: item[key] for key in ("level1", "level2", "name", "direction", "unit")}
            row.update(weight=weight, catalog_code=item["code"])
            if item["direction"] == "qualitative":
                row["target_text"] = item["typical_value"] or "达成"
            else:
                row["target_value"] = item["typical_value"]
            table.append(row)
    return table if {"产出", "效益"} <= {row["level1"] for row in table} else None


def _number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


def exante_scores(dimensions: list[dict[str, Any]]) -> dict[str, Decimal]:
    """A plausible score for every dimension the tenant's ex-ante form has, whatever its keys and points."""
    return {d["key"]: (Decimal(str(d["max"])) * EXANTE_SHARES[n % len(EXANTE_SHARES)]).quantize(Decimal("1"))
            for n, d in enumerate(dimensions)}


def generate(tenant_code: str, year: int, size: int, *, finance_username: str, seed: int = 2026,
             monitoring_month: int = 10) -> list[str]:
    """Create ``size`` projects in ``tenant_code`` for ``year``, acting as the tenant's finance user."""
    rng = random.Random(f"{seed}-{tenant_code}-{year}")
    with system_scope() as db:
        tenant = tenancy.get_by_code(db, tenant_code)
    if tenant is None:
        raise RuntimeError(f"demo data for {tenant_code} needs the tenant: load the tenants first")
    scope = TenantScope(read_ids=(tenant.id,), write_id=tenant.id, login_username=finance_username)
    made: list[str] = []
    with scoped(scope) as db:
        actor = db.scalar(sa.select(User).where(User.username == finance_username))
        departments = list(db.scalars(sa.select(Department).where(Department.tenant_id == tenant.id,
                                                                  Department.parent_id.is_(None))
                                      .order_by(Department.code)))
        if actor is None or not departments:
            raise RuntimeError(f"demo data for {tenant_code} needs the user {finance_username} and departments")
        from jixiao.db import set_scope

        set_scope(db, scope.with_(user_id=actor.id))
        agency = db.scalar(sa.select(Agency).where(Agency.tenant_id == tenant.id).limit(1)) or \
            evaluations.create_agency(db, actor, tenant, f"{tenant.name}绩效评价咨询有限公司", "0000-0000000")
        existing = db.scalar(sa.select(sa.func.count(Project.id)).where(Project.tenant_id == tenant.id,
                                                                       Project.year == year)) or 0
        # Where a catalog is in force the category is one of its categories, and the targets its indicators.
        categories = [c["name"] for c in catalog.category_choices(db, tenant, year)]
        for index in range(existing, size):
            kind = KINDS[index % len(KINDS)]
            department = departments[index % len(departments)]
            name = NAMES[kind][index % len(NAMES[kind])]
            if kind == "department_whole":
                name = f"{department.name}{name}"
            amount = Decimal(rng.randrange(20, 800) * 10000)
            stage = STAGES[index % len(STAGES)]
            category = categories[index % len(categories)] if categories else ""
            project = projects.create_project(db, actor, tenant, {
                "code": f"{year}-{tenant_code}-{index + 1:03d}", "name": name, "year": year, "kind": kind,
                "fund_type": FUNDS[index % len(FUNDS)], "category": category, "department_code": department.code,
                "is_new": kind != "department_whole" and index % 3 != 2, "is_key": index % 5 == 0,
                "classified": index % 23 == 22, "requested_amount": amount,
            })
            made.append(f"{project.code} {project.name} → {stage}")
            _advance(db, actor, tenant, project, stage, index, agency, rng, monitoring_month)
        if made and not evaluations.list_samples(db, tenant, year):
            with contextlib.suppress(Conflict):  # nothing self-evaluated yet at this size
                evaluations.draw_sample(db, actor, tenant, year, seed=seed)
    return made


def _advance(db: Any, actor: User, tenant: Any, project: Project, stage: str, index: int, agency: Agency,
             rng: random.Random, month: int) -> None:
    if stage == "draft":
        return
    table = indicator_table(str(project.kind))
    if project.category:
        table = catalog_table(catalog.search(db, tenant, project.year, category=project.category)) or table
    targets.replace_targets(db, actor, tenant, project, {
        "overall_target": f"{project.name}：按期完成年度任务，资金使用规范高效，服务对象满意。", "indicators": table})
    targets.submit_targets(db, actor, tenant, project)
    if stage == "targets_submitted":
        return
    if projects.exante_required(db, tenant, project):
        cut = (project.requested_amount * Decimal(rng.choice(["0", "0.1", "0.2"]))).quantize(Decimal("1"))
        projects.record_exante(db, actor, tenant, project, {
            "scores": exante_scores(common.hooks(db, tenant).exante_dimensions() or []),
            "conclusion": "adjust" if cut else "support", "amount_cut": cut})
    targets.review_targets(db, actor, tenant, project, approve=True)
    if stage == "targets_approved":
        return
    exante = projects.exante_for(db, project)
    budget = project.requested_amount - (exante.amount_cut if exante else Decimal(0))
    projects.approve_budget(db, actor, tenant, project, budget, project.version)
    light = list(LIGHT_SHARES)[index % len(LIGHT_SHARES)]
    target_set = targets.targets_for(db, project)
    assert target_set is not None, "replace_targets above made them"
    indicators = target_set.indicators
    owed = [m for m in monitoring.periods_owed(db, tenant, project) if m <= month]
    if owed:
        period = max(owed)
        share = LIGHT_SHARES[light] * Decimal(period) / 12
        # A level (a rate) reads its share of the target itself; a cumulative value its share of the pro-rated one.
        values = [{"indicator_id": i.id, "actual_value": (i.target_value * (
                      LIGHT_SHARES[light] if str(i.nature) == "level" else share)).quantize(Decimal("0.01"))}
                  for i in indicators if i.target_value is not None and str(i.direction) == "ge"]
        monitoring.submit_report(db, actor, tenant, project, {
            "period": period, "executed_amount": (budget * share).quantize(Decimal("0.01")), "values": values,
            "cause": "项目前期手续办理时间较长" if light in (Light.RED, Light.YELLOW) else "",
            "measure": "倒排工期，加快支付进度" if light in (Light.RED, Light.YELLOW) else ""})
    if stage == "budgeted":
        return
    quality = rng.choice([Decimal("1.0"), Decimal("0.95"), Decimal("0.85"), Decimal("0.7"), Decimal("0.5")])
    self_eval = evaluations.start_self_evaluation(db, actor, tenant, project)
    evaluations.submit(db, actor, tenant, self_eval, _evaluation_input(db, tenant, self_eval, budget, quality))
    if stage == "evaluated":
        return
    third = evaluations.assign(db, actor, tenant, project, "third_party", agency.id)
    evaluations.submit(db, actor, tenant, third, _evaluation_input(db, tenant, third, budget, quality, findings=True))
    notice = rectification.issue(db, actor, tenant, third.id)
    if stage == "overdue":
        # The deadline passed without an answer: what the ledger's overdue view is for.
        notice.deadline = rectification.today() - timedelta(days=10 + index)
        db.commit()
        return
    if stage == "rectifying":
        return
    report = "整改报告：已按要求完成整改，建立了项目跟踪台账。".encode()
    rectification.store_evidence(db, actor, tenant, notice, "整改报告.txt", io.BytesIO(report), "text/plain")
    rectification.answer(db, actor, tenant, notice, "已按要求完成整改，建立了项目跟踪台账。")
    rectification.verify(db, actor, tenant, notice, accept=True)
    results.decide(db, actor, tenant, third, {"amount_change": -(budget / 10).quantize(Decimal("1")) if third.grade in ("中", "差") else 0,
                                              "idle_recovered": (budget / 20).quantize(Decimal("1")) if index % 2 else 0})
    if not project.classified:
        projects.publish(db, actor, tenant, project, targets=True, evaluation_id=third.id)


def _evaluation_input(db: Any, tenant: Any, evaluation: Any, budget: Decimal, quality: Decimal,
                      findings: bool = False) -> dict[str, Any]:
    """What an evaluator of ``quality`` (the share of the targets met) enters on the evaluation's own form."""
    band, fraction = (("achieved", "0.9") if quality >= Decimal("0.9") else
                      ("partial", "0.7") if quality >= Decimal("0.7") else ("not_achieved", "0.4"))
    scores: list[dict[str, Any]] = []
    for row in evaluations.table_of(db, tenant, evaluation):
        if row.form_indicator is not None:
            item = row.form_indicator
            entry: dict[str, Any] = {"form_code": item.code}
            if item.scored_by:
                pass
            elif item.direction == "qualitative":
                entry.update(band=band, band_fraction=fraction)
            else:
                assert item.target_value is not None, "a quantitative form indicator has its target value"
                entry["actual_value"] = (item.target_value * quality).quantize(Decimal("0.01"))
            scores.append(entry)
            continue
        indicator = row.indicator
        if str(indicator.direction) == "qualitative":
            scores.append({"indicator_id": indicator.id, "band": band, "band_fraction": fraction})
        elif str(indicator.direction) in ("le", "lt"):
            scores.append({"indicator_id": indicator.id, "actual_value": indicator.target_value})
        else:
            scores.append({"indicator_id": indicator.id,
                           "actual_value": (indicator.target_value * quality).quantize(Decimal("0.01"))})
    problems = [{"problem": "部分绩效指标未完成年度目标", "suggestion": "分析原因，细化下年度目标"},
                {"problem": "资金支付进度滞后于序时进度", "suggestion": "加快项目实施和资金支付"}]
    return {"executed_amount": (budget * min(quality + Decimal("0.05"), Decimal(1))).quantize(Decimal("0.01")),
            "scores": scores, "summary": "项目总体按计划实施，绩效目标基本实现。",
            "findings": problems if findings or quality < Decimal("0.9") else []}


def overdue_notices(db: Any, tenant_id: int) -> int:
    return db.scalar(sa.select(sa.func.count(RectificationNotice.id)).where(
        RectificationNotice.tenant_id == tenant_id, RectificationNotice.deadline < rectification.today())) or 0
