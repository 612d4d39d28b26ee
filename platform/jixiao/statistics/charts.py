"""A province's or a city's home charts (``jixiao.statistics.dashboard``'s figures laid out as ECharts options
and tables, like ``jixiao.lifecycle.charts``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jixiao.lifecycle.charts import LIGHT_COLOURS, Cell, Chart, Link, base_options, number
from jixiao.statistics.dashboard import BureauHome
from jixiao.statistics.service import LEAGUE_COLUMNS
from jixiao.units import percent

TenantLink = Callable[[str], str]  # a child's code → its (read-only) home
UNBANDED = "#9f1239"
NOT_GRADED = "未定级"
TOO_LITTLE_DATA = "数据不足"


def league_column(home: BureauHome) -> str:
    """The column the league chart draws: the one the table is sorted by, else the monitoring filing rate."""
    sort = home.league["sort"]
    return sort if sort in LEAGUE_COLUMNS else "monitoring"


def league_chart(home: BureauHome, link: TenantLink) -> Chart:
    """One rate of every subordinate, each bar in its legend band's colour."""
    column = league_column(home)
    label = LEAGUE_COLUMNS[column][0]
    rows = home.league["rows"]
    data = [{"value": number(row["current"][column]["rate"]),
             "itemStyle": {"color": LIGHT_COLOURS.get(row["current"][column]["band"] or "", UNBANDED)}}
            for row in rows]
    options = base_options(label, xAxis={"type": "category", "data": [row["name"] for row in rows],
                                         "axisLabel": {"interval": 0, "rotate": 30}},
                           yAxis={"type": "value", "name": "%"},
                           series=[{"type": "bar", "name": label, "data": data,
                                    "label": {"show": True, "position": "top", "formatter": "{c}%"}}])
    table: list[list[Cell]] = [[Link(row["name"], link(row["code"])), percent(row["current"][column]["rate"])
                                if row["current"][column]["rate"] is not None else row["current"][column]["reason"],
                                row["current"][column]["band_label"] or "—"] for row in rows]
    return Chart("league", f"下级{label}（{home.year} 年度）", options, ["下级", label, "分档"], table,
                 note=LEAGUE_COLUMNS[column][1], empty=not rows)


def filing_chart(home: BureauHome) -> Chart:
    """The monitoring filing rate of each subordinate, month by month."""
    title = "月度绩效监控填报率"
    months = [f"{m} 月" for m in home.months]
    options = base_options(title, legend={"top": 0, "type": "scroll"}, tooltip={"trigger": "axis"},
                           xAxis={"type": "category", "data": months}, yAxis={"type": "value", "name": "%", "min": 0},
                           series=[{"type": "line", "name": row["name"], "connectNulls": False,
                                    "data": [number(row["rates"][m]) for m in home.months]} for row in home.filing])
    table: list[list[Cell]] = [[row["name"], str(row["owed"]),
                                *(f"{row['filed'][m]}（{percent(row['rates'][m])}）" for m in home.months)]
                               for row in home.filing]
    return Chart("filing", title, options, ["下级", "应报单位", *months], table,
                 note="当月报送监控表的单位 / 预算已批复、应报送监控的单位", empty=not home.filing or not home.months)


def ranking_charts(home: BureauHome) -> list[Chart]:
    """The latest campaign's ranking (total by subject, best first) and the distribution of its results."""
    campaign = home.campaign
    if campaign is None:
        return []
    ranked = [s for s in home.ranking if s.ranked and s.total is not None]
    title = f"{campaign.title}：排名"
    options = base_options(title, xAxis={"type": "category", "data": [s.name for s in ranked],
                                         "axisLabel": {"interval": 0, "rotate": 30}},
                           yAxis={"type": "value", "name": "总分"},
                           series=[{"type": "bar", "name": "总分", "data": [number(s.total) for s in ranked],
                                    "label": {"show": True, "position": "top"}}])
    rows: list[list[Cell]] = [[str(s.rank) if s.ranked and s.rank else TOO_LITTLE_DATA, s.name,
                               str(s.total) if s.total is not None else "—", s.grade or s.label or "—"]
                              for s in home.ranking]
    ranking = Chart("ranking", title, options, ["排名", "名称", "总分", "等级"], rows,
                    note=f"{campaign.year} 年度 · {campaign.status.label}", empty=not home.ranking)
    counts: dict[str, int] = {}
    for subject in home.ranking:
        result = (subject.grade or subject.label or NOT_GRADED) if subject.ranked else TOO_LITTLE_DATA
        counts[result] = counts.get(result, 0) + 1
    title = f"{campaign.title}：结果分布"
    distribution = {"color": base_options(title)["color"], "title": {"show": False, "text": title}, "animation": False,
                    "tooltip": {"trigger": "item", "formatter": "{b}：{c}（{d}%）"}, "legend": {"top": 0},
                    "series": [{"type": "pie", "name": "结果", "radius": ["35%", "65%"], "top": 24,
                                "data": [{"name": k, "value": n} for k, n in counts.items()]}]}
    shares: list[list[Cell]] = [[k, str(n)] for k, n in counts.items()]
    return [ranking, Chart("distribution", title, distribution, ["结果", "对象数"], shares, empty=not shares)]


def bureau_charts(home: BureauHome, link: TenantLink) -> list[Chart]:
    return [league_chart(home, link), filing_chart(home), *ranking_charts(home)]


def league_cells(row: dict[str, Any]) -> list[dict[str, Any]]:
    """A league row's current cells in the columns' order (for the page's own league table)."""
    return [row["current"][column] for column in LEAGUE_COLUMNS]
