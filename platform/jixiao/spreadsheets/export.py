"""Exporting list pages to .xlsx: the projects list (its filters), the rectification ledger, the yearly
statistics; :func:`jixiao.spreadsheets.xlsx.rows_to_xlsx` turns any other list (the assessment rankings)
into a sheet the same way.

Each export reads through the same service function as its page, so it holds exactly what the user sees
there. Small exports are streamed to the browser at once; one with more than ``SPREADSHEET_EXPORT_JOB_ROWS``
rows (1,000 by default) becomes a ``spreadsheets.export`` job that stores the file as a document.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from jixiao import policy, units
from jixiao.accounts.models import User
from jixiao.errors import NotFound, ValidationFailed
from jixiao.lifecycle import projects, rectification
from jixiao.lifecycle.models import (
    LABELS,
    FundSource,
    FundType,
    Light,
    NoticeStatus,
    ProjectKind,
    SpendingModality,
    Stage,
)
from jixiao.spreadsheets import xlsx
from jixiao.statistics import service as statistics
from jixiao.statistics.wording import split_rows
from jixiao.tenancy.models import Tenant

NAMES = {"projects": "项目清单", "ledger": "整改台账", "statistics": "绩效管理统计"}
PAGE = 500
Progress = Callable[[int, str], None]
WAN_FORMAT = "#,##0.00"

PROJECT_HEADINGS = ["项目编码", "项目名称", "预算年度", "主管部门编码", "主管部门", "项目类型", "资金来源", "项目类别",
                    "是否新增", "是否重点", "是否涉密", "申请金额（万元）", "批复金额（万元）", "调整后预算（万元）", "阶段",
                    "最近监控结果", "评价等级", "暂停拨款", "支出方式", "是否专项资金", "专项资金来源"]
LEDGER_HEADINGS = ["通知编号", "项目编码", "项目名称", "主管部门", "预算年度", "问题清单", "整改期限", "状态", "是否逾期",
                   "整改措施", "反馈时间", "核验时间", "退回原因"]


def threshold() -> int:
    return xlsx.config("SPREADSHEET_EXPORT_JOB_ROWS", 1000)


def _stamp(at: datetime) -> str:
    """The file name's date: the bureau's day of the export (``at`` is on its clock, ``units.local_now``)."""
    return at.strftime("%Y%m%d")


def _yes(flag: bool) -> str:
    return "是" if flag else "否"


# ---- Arguments --------------------------------------------------------------------------------------------


def project_filters(args: dict[str, Any]) -> projects.ProjectFilters:
    """The list page's filters from query arguments (``department`` is the department's code)."""
    def choice(name: str, enum_cls: type[enum.Enum]) -> str | None:
        said = args.get(name) or None
        if said is not None and said not in enum_cls._value2member_map_:
            raise ValidationFailed(fields={name: f"无效的筛选值“{said}”"})
        return said

    year = args.get("year")
    try:
        year = int(year) if year not in (None, "") else None
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(fields={"year": "预算年度应为整数"}) from exc
    return projects.ProjectFilters(
        year=year, department_code=(args.get("department") or args.get("department_code") or None),
        stage=choice("stage", Stage), kind=choice("kind", ProjectKind), fund_type=choice("fund_type", FundType),
        grade=args.get("grade") or None, light=choice("light", Light), q=(args.get("q") or None),
        modality=_modalities(args.get("modality")), fund_source=choice("fund_source", FundSource),
    )


def _modalities(said: Any) -> list[str] | None:
    """The ``modality`` filter: a list (the API's repeated parameter, a job's arguments) or the page's
    comma-separated text; a code that is none is refused, naming the filter."""
    codes = [str(c).strip() for c in (said if isinstance(said, list | tuple) else str(said or "").split(","))]
    codes = [c for c in codes if c]
    unknown = [c for c in codes if c not in SpendingModality._value2member_map_]
    if unknown:
        raise ValidationFailed(fields={"modality": f"无效的筛选值“{'、'.join(unknown)}”"})
    return codes or None


def ledger_args(args: dict[str, Any]) -> dict[str, Any]:
    status = args.get("status") or None
    if status is not None and status not in NoticeStatus._value2member_map_:
        raise ValidationFailed(fields={"status": f"无效的状态“{status}”"})
    year = args.get("year")
    try:
        year = int(year) if year not in (None, "") else None
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(fields={"year": "预算年度应为整数"}) from exc
    overdue = args.get("overdue")
    overdue_only = overdue is True or str(overdue).lower() in ("1", "true", "on", "yes")
    return {"year": year, "status": status, "overdue": True if overdue_only else None}


def statistics_year(args: dict[str, Any]) -> int:
    year = args.get("year")
    if year in (None, ""):
        return statistics.current_year()
    try:
        year = int(year)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(fields={"year": "年度应为整数"}) from exc
    if not 1990 <= year <= 2100:
        raise ValidationFailed(fields={"year": "年度应在 1990 至 2100 之间"})
    return year


def clean_args(name: str, args: dict[str, Any]) -> dict[str, Any]:
    """The arguments a job needs, checked now and plain (JSON) for the job's record."""
    if name == "projects":
        return {k: v for k, v in dataclasses.asdict(project_filters(args)).items() if v not in (None, "")}
    if name == "ledger":
        return {k: v for k, v in ledger_args(args).items() if v is not None}
    if name == "statistics":
        return {"year": statistics_year(args)}
    raise NotFound(f"没有“{name}”这种导出；可导出 projects（项目）、ledger（整改台账）、statistics（统计）")


# ---- Projects ---------------------------------------------------------------------------------------------


def count_projects(session: Session, actor: User, tenant: Tenant, filters: projects.ProjectFilters) -> int:
    return projects.list_projects(session, actor, tenant, filters, 1, 1)[1]


def project_rows(session: Session, actor: User, tenant: Tenant, filters: projects.ProjectFilters,
                 progress: Progress | None = None) -> Iterator[list[Any]]:
    total, rows = projects.project_values(session, actor, tenant, filters, PAGE)
    for seen, p in enumerate(rows, start=1):
        yield [p.code, p.name, p.year, p.department_code or "", p.department_name or "", p.kind.label,
               p.fund_type.label, p.category, _yes(p.is_new), _yes(p.is_key), _yes(p.classified),
               units.wan_from_yuan(p.requested_amount), units.wan_from_yuan(p.approved_amount),
               units.wan_from_yuan(p.adjusted_amount), p.stage.label,
               LABELS.get(str(p.light), str(p.light)) if p.light else "", p.grade or "", _yes(p.payment_suspended),
               "、".join(SpendingModality(m).label for m in p.spending_modalities or []), _yes(p.is_special_fund),
               p.fund_source.label if p.fund_source else ""]
        if progress is not None and (seen % PAGE == 0 or seen == total):
            progress(min(90, 10 + 80 * seen // max(total, 1)), f"已导出 {seen}/{total} 行")


def describe_filters(filters: projects.ProjectFilters) -> str:
    """The filters in words, as the sheet's subtitle states them ("预算年度 2026；阶段 已批复预算"), or 全部."""
    said: list[str] = []
    labelled: list[tuple[str, Any, Callable[[str], str]]] = [
        ("预算年度", filters.year, str), ("主管部门编码", filters.department_code, str),
        ("阶段", filters.stage, lambda v: Stage(v).label), ("项目类型", filters.kind, lambda v: ProjectKind(v).label),
        ("资金来源", filters.fund_type, lambda v: FundType(v).label), ("评价等级", filters.grade, str),
        ("最近监控结果", filters.light, lambda v: LABELS.get(v, v)), ("关键词", filters.q, str),
        ("支出方式", filters.modality, lambda v: "、".join(SpendingModality(m).label for m in v)),
        ("专项资金来源", filters.fund_source, lambda v: FundSource(v).label),
    ]
    for name, value, word in labelled:
        if value:
            said.append(f"{name} {word(value)}")
    return "；".join(said) or "全部"


def export_projects(session: Session, actor: User, tenant: Tenant, args: dict[str, Any],
                    progress: Progress | None = None, *, now: datetime | None = None) -> tuple[str, bytes]:
    """The projects list as a sheet; ``now`` (default: the current instant) is the export time it states."""
    at = units.local_now(now)
    filters = project_filters(args)
    described = describe_filters(filters)
    data = xlsx.rows_to_xlsx(
        f"{tenant.name} · 项目清单", PROJECT_HEADINGS, project_rows(session, actor, tenant, filters, progress),
        subtitle=f"导出时间 {at:%Y-%m-%d %H:%M} · 筛选：{described} · 金额单位：万元",
        widths=[16, 34, 9, 12, 16, 10, 16, 10, 8, 8, 8, 14, 14, 14, 12, 10, 9, 8, 24, 10, 12],
        formats={11: WAN_FORMAT, 12: WAN_FORMAT, 13: WAN_FORMAT}, sheet_title="项目清单")
    return f"项目清单-{tenant.code}-{_stamp(at)}.xlsx", data


# ---- Rectification ledger ---------------------------------------------------------------------------------


def ledger_rows(notices: list[Any]) -> Iterator[list[Any]]:
    for n in notices:
        project = n.project
        yield [n.id, project.code, project.name, project.department.name if project.department else "", project.year,
               "\n".join(f"{i}. {p}" for i, p in enumerate(n.problems, start=1)), n.deadline, n.status.label,
               _yes(rectification.is_overdue(n)), n.measures, n.answered_at, n.verified_at, n.return_reason]


def export_ledger(session: Session, actor: User, tenant: Tenant, args: dict[str, Any],
                  progress: Progress | None = None, notices: list[Any] | None = None, *,
                  now: datetime | None = None) -> tuple[str, bytes]:
    """The rectification ledger as a sheet; ``now`` (default: the current instant) is the export time it states."""
    at = units.local_now(now)
    if notices is None:
        notices = rectification.ledger(session, actor, tenant, **ledger_args(args))
    if progress is not None:
        progress(40, f"共 {len(notices)} 份整改通知，正在生成")
    data = xlsx.rows_to_xlsx(
        f"{tenant.name} · 整改台账", LEDGER_HEADINGS, ledger_rows(notices),
        subtitle=f"导出时间 {at:%Y-%m-%d %H:%M} · 共 {len(notices)} 份 · "
                 f"逾期按 {rectification.today()} 计算",
        widths=[9, 16, 30, 16, 9, 50, 12, 9, 8, 40, 17, 17, 24], formats={6: "yyyy-mm-dd", 10: "yyyy-mm-dd hh:mm",
                                                                          11: "yyyy-mm-dd hh:mm"},
        sheet_title="整改台账")
    return f"整改台账-{tenant.code}-{_stamp(at)}.xlsx", data


# ---- Yearly statistics ------------------------------------------------------------------------------------


def statistics_rows(stats: dict[str, Any]) -> list[list[Any]]:
    """The yearly figures as (分组, 指标, 数值, 单位) lines, amounts in 万元."""
    rows: list[list[Any]] = []

    def add(group: str, name: str, value: Any, unit: str = "") -> None:
        if isinstance(value, Decimal) and unit == "万元":
            value = units.wan_from_yuan(value)
        rows.append([group, name, value, unit])

    p = stats["projects"]
    add("项目", "项目数", p["count"], "个")
    for key, name in (("requested_amount", "申请金额"), ("approved_amount", "批复金额"), ("budget_amount", "预算金额")):
        add("项目", name, p[key], "万元")
    for group, key, enum_cls in (("项目（按类型）", "by_kind", ProjectKind), ("项目（按资金来源）", "by_fund_type", FundType)):
        for member in enum_cls:
            figures = p[key][member.value]
            add(group, f"{member.label}：项目数", figures["count"], "个")
            add(group, f"{member.label}：预算金额", figures["budget_amount"], "万元")
    _spending_rows(stats, add)
    e = stats["exante"]
    add("事前绩效评估", "评估项目数", e["count"], "个")
    for conclusion, n in e["by_conclusion"].items():
        add("事前绩效评估", f"结论：{LABELS.get(conclusion, conclusion)}", n, "个")
    add("事前绩效评估", "核减项目数", e["projects_cut"], "个")
    add("事前绩效评估", "核减金额", e["amount_cut"], "万元")
    f = stats["filing"]
    add("绩效目标", "编报单位数", f["targets"]["units"], "个")
    add("绩效目标", "目标表数", f["targets"]["records"], "张")
    add("绩效目标", "涉及资金", f["targets"]["amount"], "万元")
    add("绩效监控", "开展“双监控”单位数", f["monitoring"]["units"], "个")
    add("绩效监控", "监控项目数", f["monitoring"]["projects"], "个")
    add("绩效监控", "监控表数", f["monitoring"]["records"], "份")
    add("绩效监控", "涉及资金", f["monitoring"]["amount"], "万元")
    add("单位自评", "提交自评单位数", f["self_evaluation"]["units"], "个")
    add("单位自评", "自评报告数", f["self_evaluation"]["records"], "份")
    ev = stats["evaluations"]
    add("绩效评价", "评价次数（不含单位自评）", ev["count"], "次")
    add("绩效评价", "评价项目数", ev["projects"], "个")
    add("绩效评价", "涉及资金", ev["amount"], "万元")
    for kind, n in ev["by_kind"].items():
        add("绩效评价", f"{LABELS.get(kind, kind)}次数", n, "次")
    for grade, n in ev["by_grade"].items():
        add("绩效评价", f"等级：{grade}", n, "个")
    add("绩效评价", "第三方机构评价", ev["third_party"], "次")
    add("绩效评价", "重点评价", ev["key"]["count"], "次")
    for grade, n in ev["key"]["by_grade"].items():
        add("绩效评价", f"重点评价等级：{grade}", n, "个")
    r = stats["reports"]
    add("评价报告公开", "已公开", r["published"], "份")
    add("评价报告公开", "涉密不公开", r["withheld"], "份")
    add("评价报告公开", "未公开", r["unpublished"], "份")
    rect = stats["rectification"]
    for key, name in (("issued", "下达整改通知"), ("closed", "已整改销号"), ("closed_on_time", "按期整改"),
                      ("overdue", "逾期未整改"), ("open", "整改中")):
        add("整改", name, rect[key], "份")
    res = stats["results"]
    add("结果应用", "结果应用项目数", res["count"], "个")
    add("结果应用", "调整预算项目数", res["budget_changes"], "个")
    for key, name in (("amount_change", "预算调整净额"), ("reductions", "压减预算"), ("increases", "增加预算"),
                      ("idle_recovered", "收回闲置资金")):
        add("结果应用", name, res[key], "万元")
    return rows


def _spending_rows(stats: dict[str, Any], add: Callable[..., None]) -> None:
    """Projects by spending modality, and the evaluations divided as seed 003 (the page's rows and words)."""
    for code, figures in stats["projects"]["by_modality"].items():
        name = SpendingModality(code).label if code in SpendingModality._value2member_map_ else "未填写支出方式"
        add("项目（按支出方式）", f"{name}：项目数", figures["count"], "个")
        add("项目（按支出方式）", f"{name}：预算金额", figures["budget_amount"], "万元")
    for name, part, _source in split_rows(stats["evaluations"]["split"]):
        add("分类评价", f"{name}：评价项目数", part["count"], "个")
        add("分类评价", f"{name}：涉及资金", part["amount"], "万元")


def export_statistics(session: Session, tenant: Tenant, args: dict[str, Any]) -> tuple[str, bytes]:
    year = statistics_year(args)
    stats = statistics.yearly_statistics(session, tenant, year)
    data = xlsx.rows_to_xlsx(
        f"{tenant.name} · {year}年度预算绩效管理统计", ["分组", "指标", "数值", "单位"], statistics_rows(stats),
        subtitle=f"统计口径：{year} 年度预算项目；仅本级数据，不含下级；截至 {stats['today']}",
        widths=[18, 30, 16, 8], formats={2: "#,##0.######"}, sheet_title=f"{year}年统计")
    return f"绩效统计-{tenant.code}-{year}.xlsx", data


# ---- Assessment rankings ----------------------------------------------------------------------------------


LEVEL_LABELS = {"province": "省级", "city": "市级", "county": "县级", "department": "部门"}
RANKING_HEADINGS = ["排名", "名称", "编码", "层级", "所属上级", "本级排名", "总分", "等级", "一票否决", "奖励", "通报"]


def export_ranking(session: Session, tenant: Tenant, campaign_id: int) -> tuple[str, bytes]:
    """An assessment campaign's ranking (考核排名) as the ranking page shows it: by level, best first."""
    from jixiao.assessment import service as assessment

    campaign = assessment.get_campaign(session, tenant, campaign_id)
    scheme = assessment.read_scheme(campaign.scheme)
    # The subject's result on the scheme's scale when it aggregates to one, then each group's result.
    labelled = scheme.aggregate.labelled
    headings = [*RANKING_HEADINGS, *(["考核结果"] if labelled else []), *(g.name for g in scheme.groups)]
    rows = [[s.rank if s.ranked else "数据不足", s.name, s.code, LEVEL_LABELS.get(s.level, s.level),
             s.parent_code or "", s.rank_in_parent, s.total, s.grade or "", "是" if s.vetoed else "",
             "、".join(s.awards or []), "、".join(s.notices or []), *([s.label or ""] if labelled else []),
             *(_group_cell(next((r for r in s.groups or [] if r.get("code") == g.code), None)) for g in scheme.groups)]
            for s in assessment.ranking(session, campaign)]
    status = getattr(campaign.status, "label", str(campaign.status))
    data = xlsx.rows_to_xlsx(
        f"{tenant.name} · {campaign.title}", headings, rows,
        subtitle=f"{campaign.year} 年度 · 考核方案 {_scheme_words(campaign)} · 状态：{status}",
        widths=[7, 24, 10, 8, 10, 9, 9, 8, 9, 24, 24, *([9] if labelled else []), *(14 for _ in scheme.groups)],
        formats={6: "0.00"}, sheet_title="考核排名")
    return f"考核排名-{tenant.code}-{campaign.year}-{campaign.id}.xlsx", data


def _scheme_words(campaign: Any) -> str:
    """The scheme as the campaign page names it: its name and its rule set's (the codes only when unnamed)."""
    saved = campaign.scheme or {}
    name = saved.get("name") or campaign.scheme_code
    rule_set = saved.get("rule_set_name") or campaign.rule_set
    return f"{name}（{rule_set}）" if rule_set else name


def _group_cell(result: dict[str, Any] | None) -> str:
    """A group's result as its cell reads: its label, else its points of its maximum; 不适用 when left out."""
    if not result:
        return ""
    if result.get("state") == "not_applicable":
        return "不适用"
    if result.get("label"):
        return str(result["label"])
    return f"{result['points']}/{result['maximum']}" if result.get("points") is not None else ""


# ---- The league table of subordinates -------------------------------------------------------------------


def export_league(session: Session, actor: User, tenant: Tenant, args: dict[str, Any]) -> tuple[str, bytes]:
    """The league table of subordinates (下级排名表) as the home page shows it: this year's rates with their bands,
    in its order; ``args`` are the league's own (``year``, ``sort``, ``order``, ``level``, ``city``), checked."""
    table = statistics.league(session, actor, tenant, args["year"], sort=args.get("sort") or "code",
                              order=args.get("order") or "asc", level=args.get("level"), city=args.get("city"))
    columns = table["columns"]
    headings = ["名称", "编码", "所属上级", *(h for c in columns for h in (f"{c['label']}（%）", f"{c['label']}分档"))]
    rows = []
    for row in table["rows"]:
        cells = [row["current"][c["key"]] for c in columns]
        rows.append([row["name"], row["code"], row["parent"]["name"],
                     *(v for cell in cells for v in (cell["rate"] if cell["rate"] is not None else cell["reason"],
                                                     cell["band_label"] or ""))])
    data = xlsx.rows_to_xlsx(
        f"{tenant.name} · {table['year']}年度下级排名表", headings, rows,
        subtitle="；".join(f"{c['label']}：{c['definition']}" for c in columns),
        widths=[18, 10, 16, *(w for _ in columns for w in (14, 10))],
        formats={3 + 2 * i: "0.00" for i in range(len(columns))}, sheet_title="下级排名表")
    return f"下级排名表-{tenant.code}-{table['year']}.xlsx", data


# ---- Either way -------------------------------------------------------------------------------------------


def size(session: Session, actor: User, tenant: Tenant, name: str, args: dict[str, Any]) -> int:
    """How many rows the export would have (statistics: a fixed, small number)."""
    if name == "projects":
        return count_projects(session, actor, tenant, project_filters(args))
    if name == "ledger":
        return len(rectification.ledger(session, actor, tenant, **ledger_args(args)))
    if name == "statistics":
        policy.require_bureau_figures(actor)  # the statistics pages' own rule
        return 0
    raise NotFound(f"没有“{name}”这种导出")


def build(session: Session, actor: User, tenant: Tenant, name: str, args: dict[str, Any],
          progress: Progress | None = None) -> tuple[str, bytes]:
    """(file name, bytes) of the export ``name`` with the list's arguments."""
    if name == "projects":
        return export_projects(session, actor, tenant, args, progress)
    if name == "ledger":
        return export_ledger(session, actor, tenant, args, progress)
    if name == "statistics":
        policy.require_bureau_figures(actor)
        return export_statistics(session, tenant, args)
    raise NotFound(f"没有“{name}”这种导出")
