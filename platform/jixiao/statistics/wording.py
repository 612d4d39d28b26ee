"""The yearly figures in words: prose summaries in the style of the seeds' reports, grades, lights and
decisions in their usual order. Shared by the statistics pages and the yearly report (PDF)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from jixiao.lifecycle.models import FundSource, Light, ProjectKind, SpendingModality
from jixiao.statistics import service
from jixiao.units import format_amount_scaled

GRADE_ORDER = ["优", "良", "中", "差"]
LIGHT_ORDER = (Light.RED, Light.YELLOW, Light.GREEN, Light.BLUE)


SPLIT_LABELS = {"policy": "财政政策", "department_whole": "部门整体支出", "special_fund": "专项资金项目",
                "department_budget": "部门预算项目"}
UNRECORDED_SOURCE = "来源未填写"
UNRECORDED_MODALITY = "未填写支出方式"


def split_rows(split: dict[str, Any]) -> list[tuple[str, dict[str, Any], bool]]:
    """Seed 003's division as table rows in its order — policy, department-whole, special funds and under them
    each source, department budget projects: (label, figures, is a source row)."""
    rows: list[tuple[str, dict[str, Any], bool]] = []
    for part in service.SPLIT_PARTS:
        rows.append((SPLIT_LABELS[part], split[part], False))
        if part == service.SPECIAL_FUND:
            for source in service.SOURCES:
                label = FundSource(source).label if source != service.UNRECORDED else UNRECORDED_SOURCE
                rows.append((label, split[part]["by_source"][source], True))
    return rows


def modality_rows(by_modality: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The projects per spending modality, in the enum's order, the unrecorded last."""
    return [(SpendingModality(code).label if code != service.UNRECORDED else UNRECORDED_MODALITY, figures)
            for code, figures in by_modality.items()]


def ordered_grades(by_grade: dict[str, int]) -> list[tuple[str, int]]:
    """Grades in the usual order (优, 良, 中, 差), any regional grade after them."""
    known = [(g, by_grade[g]) for g in GRADE_ORDER if by_grade.get(g)]
    return known + sorted((g, n) for g, n in by_grade.items() if g not in GRADE_ORDER and n)


def _grades_text(by_grade: dict[str, int]) -> str:
    return "、".join(_("%(grade)s %(n)s 个", grade=g, n=n) for g, n in ordered_grades(by_grade))


def summary(stats: dict[str, Any]) -> list[str]:
    """The figures as sentences in the style of the seeds' reports, one paragraph per group of stages."""
    year = stats["year"]
    paragraphs = [_("%(year)s年，", year=year) + "；".join(clauses) + "。"
                  for clauses in (_filing_clauses(stats), _evaluation_clauses(stats)) if clauses]
    applied = _results_sentence(stats["results"])
    if applied:
        paragraphs.append(applied)
    if not paragraphs:
        paragraphs.append(_("%(year)s年暂无绩效管理数据。", year=year))
    return paragraphs


def _filing_clauses(stats: dict[str, Any]) -> list[str]:
    """Targets filed and approved, monitoring, self-evaluations and ex-ante assessments."""
    filing, exante = stats["filing"], stats["exante"]
    clauses: list[str] = []
    if filing["targets"]["units"]:
        clauses.append(_("%(units)s 个单位编报绩效目标（目标表 %(records)s 张）",
                         units=filing["targets"]["units"], records=filing["targets"]["records"]))
    approved = filing["targets"]["approved"]
    if approved["count"]:
        kinds = [_("%(label)s %(n)s 个（涉及资金 %(amount)s）", label=ProjectKind(k).label, n=g["count"],
                   amount=format_amount_scaled(g["amount"]))
                 for k, g in approved["by_kind"].items() if g["count"]]
        clauses.append(_("批复%(kinds)s的绩效目标", kinds="、".join(kinds)))
    if filing["monitoring"]["units"]:
        clauses.append(_("%(units)s 个单位开展绩效运行“双监控”（监控表 %(records)s 份，涉及资金 %(amount)s）",
                         units=filing["monitoring"]["units"], records=filing["monitoring"]["records"],
                         amount=format_amount_scaled(filing["monitoring"]["amount"])))
    if filing["self_evaluation"]["units"]:
        clauses.append(_("%(units)s 个单位提交绩效自评报告（%(records)s 份）",
                         units=filing["self_evaluation"]["units"], records=filing["self_evaluation"]["records"]))
    if exante["count"]:
        text = _("开展事前绩效评估 %(n)s 个", n=exante["count"])
        if exante["projects_cut"]:
            text += _("，核减 %(n)s 个项目资金 %(amount)s", n=exante["projects_cut"],
                      amount=format_amount_scaled(exante["amount_cut"]))
        clauses.append(text)
    return clauses


def _evaluation_clauses(stats: dict[str, Any]) -> list[str]:
    """Evaluations (and their grades and reports), then rectification notices."""
    ev, reports, rect = stats["evaluations"], stats["reports"], stats["rectification"]
    clauses = _evaluated(ev, reports) if ev["count"] else []
    if rect["issued"]:
        text = _("下达整改通知书 %(n)s 份", n=rect["issued"])
        if rect["closed"]:
            text += _("，已整改销号 %(n)s 份（按期 %(on_time)s 份）", n=rect["closed"], on_time=rect["closed_on_time"])
        if rect["overdue"]:
            text += _("，逾期未整改 %(n)s 份", n=rect["overdue"])
        clauses.append(text)
    return clauses


def _evaluated(ev: dict[str, Any], reports: dict[str, Any]) -> list[str]:
    all_key = ev["key"]["count"] == ev["count"]
    what = _("重点绩效评价") if all_key else _("绩效评价")
    if ev["projects"] == ev["count"]:
        head = _("共对 %(n)s 个项目开展%(what)s", n=ev["count"], what=what)
    else:
        head = _("共对 %(projects)s 个项目开展%(what)s %(n)s 次", projects=ev["projects"], what=what, n=ev["count"])
    parts = [head + _("，涉及资金 %(amount)s", amount=format_amount_scaled(ev["amount"]))]
    kinds = [_("%(label)s %(n)s 个", label=ProjectKind(k).label, n=ev["by_project_kind"][k]["count"])
             for k in ("department_whole", "project", "policy") if ev["by_project_kind"][k]["count"]]
    if kinds:
        parts.append(_("其中") + "、".join(kinds))
    if ev["third_party"]:
        parts.append(_("委托第三方机构 %(n)s 个", n=ev["third_party"]))
    clauses = ["，".join(parts)]
    if ev["key"]["count"] and not all_key:
        clauses.append(_("重点绩效评价 %(n)s 个", n=ev["key"]["count"])
                       + (_("，其中%(grades)s", grades=_grades_text(ev["key"]["by_grade"]))
                          if ev["key"]["by_grade"] else ""))
    elif ev["by_grade"] and set(ev["by_grade"]) != {service.NO_GRADE}:
        clauses.append(_("评价结果%(grades)s", grades=_grades_text(ev["by_grade"])))
    text = _("公开评价报告 %(n)s 份", n=reports["published"])
    if reports["withheld"]:
        text += _("（涉密 %(n)s 份不予公开）", n=reports["withheld"])
    if reports["unpublished"]:
        text += _("，尚未公开 %(n)s 份", n=reports["unpublished"])
    clauses.append(text)
    return clauses


def _results_sentence(results: dict[str, Any]) -> str:
    """How the evaluations' results were applied to budgets, or "" when they were not."""
    if not results["count"]:
        return ""
    text = _("评价结果应用于预算安排 %(n)s 项", n=results["count"])
    if results["budget_changes"]:
        text += _("，据此调整预算 %(n)s 项", n=results["budget_changes"])
        if results["reductions"]:
            text += _("，调减 %(amount)s", amount=format_amount_scaled(-results["reductions"]))
        if results["increases"]:
            text += _("，调增 %(amount)s", amount=format_amount_scaled(results["increases"]))
    if results["idle_recovered"]:
        text += _("，收回闲置资金 %(amount)s", amount=format_amount_scaled(results["idle_recovered"]))
    return text + "。"


def funnel(stats: dict[str, Any]) -> list[dict[str, Any]]:
    """Units per stage (targets → monitoring → self-evaluation), with a bar width in percent of the widest."""
    filing = stats["filing"]
    stages = [
        (_("编报绩效目标"), filing["targets"]["units"]),
        (_("开展运行监控"), filing["monitoring"]["units"]),
        (_("提交绩效自评"), filing["self_evaluation"]["units"]),
    ]
    widest = max((n for _label, n in stages), default=0) or 1
    return [{"label": label, "units": n, "percent": round(n * 100 / widest, 1)} for label, n in stages]


def decisions(by_decision: dict[str, Any], labels: dict[str, str]) -> list[tuple[str, Any]]:
    """Results decisions by name, in the order the rules offer them (``labels``, from
    ``service.decision_labels``); a code the rules no longer name comes last, as it is."""
    order = {code: position for position, code in enumerate(labels)}
    ranked = sorted(by_decision.items(), key=lambda item: (order.get(item[0], len(order)), item[0]))
    return [(labels.get(code, code), figures) for code, figures in ranked]


def lights(by_light: dict[str, int]) -> list[tuple[str, int]]:
    """Monitoring reports per light, by label (红灯 first: the most serious deviation leads)."""
    return [(light.label, by_light.get(light.value, 0)) for light in LIGHT_ORDER]
