"""The dashboards' charts: each an ECharts option (plain JSON data, which the static script
``jixiao-charts.js`` draws, so no script is written into the page) and the same figures as a table.

Nothing is computed here that the dashboard services did not compute: this only lays their figures out.
Amounts are shown in 万元; rates in percent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from jixiao.lifecycle.dashboard import DUE_KINDS, LIGHT_ORDER, NO_GRADE, FinanceHome, UnitHome
from jixiao.lifecycle.models import Conclusion, Light
from jixiao.units import WAN, format_wan, percent

LIGHT_COLOURS = {"red": "#d92d20", "yellow": "#f5b700", "green": "#16a34a", "blue": "#2563eb"}
BAND_COLOURS = {"red": "rgba(217,45,32,0.08)", "yellow": "rgba(245,183,0,0.10)", "green": "rgba(22,163,74,0.08)",
                "blue": "rgba(37,99,235,0.08)"}
PALETTE = ["#9f1239", "#2563eb", "#16a34a", "#f5b700", "#7c3aed", "#0891b2", "#d97706", "#475569"]
NONE_SHOWN = "—"


@dataclasses.dataclass(frozen=True)
class Link:
    text: str
    href: str


Cell = str | Link
ProjectLink = Callable[[int, str], str]  # (project id, anchor) → the project page's address


@dataclasses.dataclass(frozen=True)
class Chart:
    """One chart: ``key`` names its element, ``options`` is the ECharts option, ``columns`` and ``rows`` its table."""

    key: str
    title: str
    options: dict[str, Any]
    columns: list[str]
    rows: list[list[Cell]]
    note: str = ""
    empty: bool = False


def number(value: Decimal | int | None) -> float | int | None:
    """A figure as the chart's JSON number (the table shows the exact figure)."""
    if value is None:
        return None
    return value if isinstance(value, int) else float(value)


def wan(amount: Decimal) -> float:
    return float((amount / WAN).quantize(Decimal("0.01")))


def base_options(title: str, **more: Any) -> dict[str, Any]:
    return {"color": PALETTE, "title": {"show": False, "text": title},
            "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}}, "animation": False,
            "grid": {"left": 8, "right": 16, "top": 36, "bottom": 8, "containLabel": True}, **more}


def funnel_chart(key: str, funnel: list[dict[str, Any]], title: str = "项目阶段漏斗") -> Chart:
    """The projects that reached each stage (at it or beyond), as a funnel; the table adds those now at it."""
    options = {"color": PALETTE, "title": {"show": False, "text": title}, "animation": False,
               "tooltip": {"trigger": "item", "formatter": "{b}：{c} 个"},
               "series": [{"type": "funnel", "name": title, "sort": "none", "left": "10%", "width": "80%",
                           "minSize": "8%", "label": {"show": True, "position": "inside", "formatter": "{b} {c}"},
                           "data": [{"name": s["label"], "value": s["reached"]} for s in funnel]}]}
    rows: list[list[Cell]] = [[s["label"], str(s["reached"]), str(s["now"])] for s in funnel]
    return Chart(key, title, options, ["阶段", "已达到该阶段的项目", "处于该阶段的项目"], rows,
                 empty=not any(s["reached"] for s in funnel))


def lights_chart(home: FinanceHome) -> Chart:
    title = "各部门监控亮灯情况"
    names = [row["name"] for row in home.lights]
    options = base_options(title, legend={"top": 0},
                           xAxis={"type": "category", "data": names, "axisLabel": {"interval": 0, "rotate": 30}},
                           yAxis={"type": "value", "name": "项目数", "minInterval": 1},
                           series=[{"type": "bar", "stack": "lights", "name": light.label,
                                    "itemStyle": {"color": LIGHT_COLOURS[light.value]},
                                    "data": [row[light.value] for row in home.lights]} for light in LIGHT_ORDER])
    rows: list[list[Cell]] = [[row["name"], *(str(row[light.value]) for light in LIGHT_ORDER)] for row in home.lights]
    return Chart("lights", title, options, ["部门", *(light.label for light in LIGHT_ORDER)], rows,
                 note="按各项目最近一次监控的总体亮灯计", empty=not rows)


def scatter_chart(home: FinanceHome, link: ProjectLink) -> Chart:
    """Execution against what was expected by the month (x) and indicator attainment (y), both in percent on
    the scale the lights are read from, with the light bands shaded behind the points."""
    title = "预算执行与目标完成"
    measured = [p for p in home.points if p["attainment"] is not None and p["execution_progress"] is not None]
    edges = [Decimal(0), *(b * 100 for b in home.bounds)]
    top = max([edges[-1] * Decimal("1.25"), *(p["execution_progress"] for p in measured),
               *(p["attainment"] for p in measured)])
    bands = []
    for i, light in enumerate(LIGHT_ORDER):
        low, high = edges[i], (edges[i + 1] if i + 1 < len(edges) else top)
        bands.append([{"name": light.label, "xAxis": number(low), "itemStyle": {"color": BAND_COLOURS[light.value]}},
                      {"xAxis": number(high)}])
    series: list[dict[str, Any]] = [{
        "type": "scatter", "name": light.label, "itemStyle": {"color": LIGHT_COLOURS[light.value]}, "symbolSize": 10,
        "data": [{"name": p["name"], "value": [number(p["execution_progress"]), number(p["attainment"])]}
                 for p in measured if p["light"] == light.value]} for light in LIGHT_ORDER]
    # The execution bands shaded, the attainment bounds drawn as lines: the same bounds on both axes.
    series[0]["markArea"] = {"silent": True, "label": {"show": False}, "data": bands}
    series[0]["markLine"] = {"silent": True, "symbol": "none", "label": {"formatter": "{c}%"},
                             "lineStyle": {"type": "dashed", "color": "#94a3b8"},
                             "data": [{"yAxis": number(edge)} for edge in edges[1:]]}
    axis = {"type": "value", "min": 0, "max": number(top.quantize(Decimal(1)))}
    options = base_options(title, legend={"top": 0}, tooltip={"trigger": "item", "formatter": "{a}：{b}<br>{c}"},
                           xAxis={**axis, "name": "执行进度 %"}, yAxis={**axis, "name": "目标完成 %"}, series=series,
                           grid={"left": 8, "right": 48, "top": 36, "bottom": 8, "containLabel": True})
    rows: list[list[Cell]] = [[Link(p["name"], link(p["project_id"], "monitoring")), p["department"],
                               f"{p['period']} 月", percent(p["execution_rate"]), percent(p["execution_progress"]),
                               percent(p["attainment"]), Light(p["light"]).label] for p in home.points]
    bounds = "、".join(percent(b * 100) for b in home.bounds)
    return Chart("scatter", title, options,
                 ["项目", "部门", "监控月份", "预算执行率", "执行进度（对应进度）", "目标完成（指标平均）", "亮灯"], rows,
                 note=f"横轴为执行数与截至当月应执行数之比，纵轴为各量化指标完成程度的平均值；"
                      f"底色为亮灯分档（{bounds}，依设置 monitoring.light_bounds）。无量化指标的项目只列在表中。",
                 empty=not home.points)


def grades_chart(home: FinanceHome) -> Chart:
    title = "评价等级分布"
    order = [g for g in home.grade_order if g in home.grades] + sorted(g for g in home.grades
                                                                       if g not in home.grade_order)
    options = base_options(title, xAxis={"type": "category", "data": [g or NO_GRADE for g in order]},
                           yAxis={"type": "value", "name": "项目数", "minInterval": 1},
                           series=[{"type": "bar", "name": "项目数", "data": [home.grades[g] for g in order],
                                    "label": {"show": True, "position": "top"}}])
    rows: list[list[Cell]] = [[g, str(home.grades[g])] for g in order]
    return Chart("grades", title, options, ["等级", "项目数"], rows, note="按各项目最近一次提交的评价计（外部评价优先于单位自评）",
                 empty=not rows)


def exante_chart(home: FinanceHome) -> Chart:
    title = "事前绩效评估核减"
    options = base_options(title, legend={"top": 0},
                           xAxis={"type": "category", "data": [row["name"] for row in home.exante],
                                  "axisLabel": {"interval": 0, "rotate": 30}},
                           yAxis={"type": "value", "name": "万元"},
                           series=[{"type": "bar", "name": "申请金额", "data": [wan(row["requested"]) for row in home.exante]},
                                   {"type": "bar", "name": "核减金额", "data": [wan(row["cut"]) for row in home.exante]}])
    rows: list[list[Cell]] = [[row["name"], str(row["count"]), *(str(row["by_conclusion"][c.value]) for c in Conclusion),
                               format_wan(row["requested"]), format_wan(row["cut"])] for row in home.exante]
    return Chart("exante", title, options,
                 ["部门", "评估项目", *(c.label for c in Conclusion), "申请金额（万元）", "核减金额（万元）"], rows,
                 empty=not rows)


def rectification_chart(home: FinanceHome) -> Chart:
    title = "整改未完成与逾期"
    options = base_options(title, legend={"top": 0},
                           xAxis={"type": "category", "data": [row["name"] for row in home.rectifications],
                                  "axisLabel": {"interval": 0, "rotate": 30}},
                           yAxis={"type": "value", "name": "整改通知书", "minInterval": 1},
                           series=[{"type": "bar", "name": "未完成", "itemStyle": {"color": LIGHT_COLOURS["yellow"]},
                                    "data": [row["open"] for row in home.rectifications]},
                                   {"type": "bar", "name": "逾期", "itemStyle": {"color": LIGHT_COLOURS["red"]},
                                    "data": [row["overdue"] for row in home.rectifications]}])
    rows: list[list[Cell]] = [[row["name"], str(row["issued"]), str(row["open"]), str(row["overdue"])]
                              for row in home.rectifications]
    return Chart("rectification", title, options, ["部门", "已下达", "未完成", "逾期"], rows,
                 note="未完成：尚未核验销号；逾期：已过整改期限仍未核验", empty=not rows)


def dues_chart(key: str, dues: list[dict[str, Any]], link: ProjectLink, title: str = "本月到期事项") -> Chart:
    kinds = list(DUE_KINDS)
    options = base_options(title, xAxis={"type": "category", "data": [DUE_KINDS[k] for k in kinds]},
                           yAxis={"type": "value", "name": "事项数", "minInterval": 1},
                           series=[{"type": "bar", "name": "事项数", "label": {"show": True, "position": "top"},
                                    "data": [sum(1 for d in dues if d["kind"] == k) for k in kinds]}])
    rows: list[list[Cell]] = [[DUE_KINDS[d["kind"]], Link(d["project"], link(d["project_id"], d["anchor"])),
                               d["department"], d["label"], d["due"]] for d in dues]
    return Chart(key, title, options, ["类别", "项目", "单位", "事项", "期限"], rows, empty=not rows)


def finance_charts(home: FinanceHome, link: ProjectLink) -> list[Chart]:
    """The county finance home's charts, in the order the page shows them."""
    return [funnel_chart("funnel", home.funnel), lights_chart(home), scatter_chart(home, link), grades_chart(home),
            exante_chart(home), rectification_chart(home), dues_chart("dues", home.dues, link)]


def unit_charts(home: UnitHome, link: ProjectLink) -> list[Chart]:
    """A unit's home: its projects by stage, and what it owes by when."""
    title = "待办事项及期限"
    dated: dict[str, int] = {}
    for item in home.owed:
        month = item["due"][:7] or "无期限"
        dated[month] = dated.get(month, 0) + 1
    months = sorted(dated, key=lambda m: (m == "无期限", m))
    options = base_options(title, xAxis={"type": "category", "data": months}, yAxis={"type": "value", "name": "事项数",
                                                                              "minInterval": 1},
                           series=[{"type": "bar", "name": "事项数", "data": [dated[m] for m in months],
                                    "label": {"show": True, "position": "top"}}])
    rows: list[list[Cell]] = [[item["label"], Link(item["project"], link(item["project_id"], item["anchor"])),
                               item["due"] or NONE_SHOWN] for item in home.owed]
    owed = Chart("owed", title, options, ["事项", "项目", "期限"], rows, note="按期限所在月份计", empty=not rows)
    return [funnel_chart("funnel", home.funnel, "本单位项目所处阶段"), owed]


def warnings_chart(departments: list[dict[str, Any]]) -> Chart:
    """The early-warning page's red and yellow projects per department."""
    title = "各部门预警项目"
    off_track = (Light.RED, Light.YELLOW)
    counts = [{light.value: sum(1 for p in d["projects"] if p["light"] == light.value) for light in off_track}
              for d in departments]
    options = base_options(title, legend={"top": 0},
                           xAxis={"type": "category", "data": [d["name"] for d in departments],
                                  "axisLabel": {"interval": 0, "rotate": 30}},
                           yAxis={"type": "value", "name": "项目数", "minInterval": 1},
                           series=[{"type": "bar", "stack": "lights", "name": light.label,
                                    "itemStyle": {"color": LIGHT_COLOURS[light.value]},
                                    "data": [c[light.value] for c in counts]} for light in off_track])
    rows: list[list[Cell]] = [[d["name"], *(str(c[light.value]) for light in off_track)]
                              for d, c in zip(departments, counts, strict=True)]
    return Chart("warnings", title, options, ["部门", *(light.label for light in off_track)], rows, empty=not rows)
