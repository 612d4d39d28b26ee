"""The vendor contract: every hook a Jixiao plugin may implement.

Conventions (see docs/plugins.md):

- Hooks are called with keyword arguments only; new arguments are only ever added at the end.
- Every hook that answers for a tenant receives ``tenant``, a read-only :class:`jixiao.toolkit.TenantView`,
  and is called only for plugins that tenant enables (its own YAML or an ancestor's). The built-in
  ``national`` plugin is enabled everywhere and registered first, so a regional plugin's answer comes first.
- ``register_*`` hooks return lists, and every plugin's answer is collected.
- Questions about one tenant (``firstresult``) stop at the first answer that is not ``None``: return ``None``
  to let the national default (or another plugin) answer.
- ``on_*`` hooks are events; their return values are ignored.
- The composition hooks (``register_blueprints`` … ``register_todo_sources``) take no ``tenant``: they are
  called once, when an app is made, on every installed plugin, and make up what the app can do. The core's own
  pages, endpoints, jobs and commands are registered through them by the core's default plugins
  (``jixiao.<domain>.plugin``), exactly as a vendor's would be. ``declare_settings`` is collected the same
  way: the settings every installed plugin reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # types only: a plugin manager loads this module without the database layer the toolkit brings
    import random
    from decimal import Decimal

    import click
    import flask

    from jixiao.toolkit import (
        AssessmentAggregate,
        AssessmentItemView,
        AssessmentResultView,
        DocumentOwner,
        Metric,
        MonitoringView,
        NotificationChannel,
        ProjectView,
        Schedule,
        Setting,
        TargetsView,
        TenantView,
        TodoItem,
    )

hookspec = pluggy.HookspecMarker("jixiao")


@hookspec
def tenant_default_settings(tenant: TenantView) -> dict[str, Any] | None:
    """Default settings a plugin contributes for ``tenant``.

    Called when the platform works out a tenant's effective settings (its home page, every rule that reads a
    setting). Every enabled plugin's answer is collected and merged, national first and regional after, so
    a region overrides a national default key by key; settings written in the tenants' YAML files override
    all plugin defaults, an ancestor's first and the tenant's own last.

    Return a flat ``dict`` of dotted keys (``"monitoring.cadence"``) to JSON values, or ``None``. Every key
    should be declared (``declare_settings``, by this plugin or another), or a bureau cannot override it; the
    declared defaults come before every answer.
    """


@hookspec
def declare_settings() -> list[Setting] | None:
    """The tenant settings a plugin reads: ``jixiao.toolkit.Setting(key, type, default, description, …)``.

    **Collected** once, when an app is made, from every installed plugin (the core's default plugins too), like
    the composition hooks: a key declared by two plugins stops the app from being made, naming both. A declared
    ``default`` is a tenant's value when neither ``tenant_default_settings`` nor the tenants' YAML gives one
    (only where the declaring plugin is in force), so readers write ``settings[key]`` without repeating it.
    ``jixiao tenants load`` and the settings page and API refuse a key no installed plugin declares and a value
    of the wrong type, naming the key. Return a list of ``Setting``, or ``None``.
    """


@hookspec
def on_tenant_loaded(tenant: TenantView, created: bool, changes: dict[str, Any]) -> None:
    """Event: ``jixiao tenants load`` created or changed ``tenant``.

    ``created`` is true for a new tenant; ``changes`` maps each changed field to ``[before, after]``.
    Called only for plugins the tenant enables, after the load committed. Return nothing.
    """


# ---- The lifecycle ------------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def exante_required(tenant: TenantView, project: ProjectView) -> bool | None:
    """Does ``project`` need an ex-ante assessment (事前绩效评估) before its targets and budget are approved?

    Called when targets are approved and when the approved amount is set. ``project`` is a read-only
    ``ProjectView`` (kind, fund type, is_new, requested amount in yuan, …). **firstresult**: the first
    non-``None`` answer wins. National default: new projects whose kind is in the setting
    ``exante.required_kinds``.
    """


@hookspec(firstresult=True)
def exante_dimensions(tenant: TenantView) -> list[dict[str, Any]] | None:
    """The dimensions an ex-ante assessment scores, each ``{"key", "label", "max"}``; maxima sum to 100.

    **firstresult**. National default: 立项必要性, 投入经济性, 绩效目标合理性, 实施方案可行性, 筹资合规性,
    20 points each.
    """


@hookspec
def validate_targets(tenant: TenantView, project: ProjectView, targets: TargetsView) -> list[dict[str, str]] | None:
    """Problems with a project's performance targets, checked when the unit submits them and when finance
    approves them.

    ``targets`` is a read-only ``TargetsView`` (overall target, indicators with level 1 / level 2 / name /
    direction / value / unit / weight / catalog code). **Collected**: every enabled plugin's problems are
    shown together. Return a list of ``{"field": ..., "message": ...}`` (messages in Chinese), or ``None``.
    National rules: an overall target, at least one 产出 and one 效益 indicator, level 1 and level 2 names
    from the national framework, a target value for every quantitative indicator, positive weights.
    """


@hookspec(firstresult=True)
def monitoring_periods(tenant: TenantView, project: ProjectView, year: int) -> list[int] | None:
    """The months (1–12) for which ``project`` owes a monitoring report (双监控) in ``year``.

    **firstresult**. National default: the setting ``monitoring.months`` (every month), or
    ``monitoring.months_by_kind[kind]`` when a tenant's settings give one for the project's kind.
    """


@hookspec(firstresult=True)
def monitoring_light(tenant: TenantView, ratio: Decimal, subject: str) -> str | None:
    """The traffic light for an attainment ``ratio`` (a ``Decimal``; 1 means exactly on track).

    ``subject`` is ``"indicator"`` (actual against the expected value by this month) or ``"execution"``
    (executed against the expected spending by this month). Return ``"red"``, ``"yellow"``, ``"green"`` or
    ``"blue"``. **firstresult**. National default (illustrative, one province's practice): below 60% red,
    60–80% yellow, 80–120% green, 120% and above blue.
    """


@hookspec(firstresult=True)
def evaluation_weights(tenant: TenantView, kind: str) -> dict[str, Any] | None:
    """The evaluation form of ``kind`` (``self``, ``department``, ``finance``, ``third_party``): its level-1
    groups, their points and what shares them.

    Return ``{"execution": E, "groups": [...]}``. ``execution`` is the budget execution row's points (10 on the
    self-evaluation form, 0 where 预算执行率 is a row of 过程). Each group is ``{"name", "points", "level1": [...]}``
    — its points shared by the project's target indicators of those level-1 names in proportion to their
    weights — or ``{"name", "points", "indicators": [{"code", "level2", "name", "points", "direction"?,
    "target_value"?, "unit"?, "scored_by"?}]}`` — the form's own rows (决策, 过程), scored by the evaluator
    (qualitative by default) or, with ``"scored_by": "execution"``, by the budget execution rule. The form must
    total 100; for every kind but ``self``, 产出 + 效益 must have at least 60% of the points (national principle);
    成本 indicators count in the group taking 产出 unless a group names 成本. The flat form of earlier releases,
    ``{"execution": 10, "产出": 50, "效益": 30, "满意度": 10}``, is still read. **firstresult**. National
    default: self 10 / 产出 50 / 效益 30 / 满意度 10; department, finance and third-party evaluations 决策 20 /
    过程 20 / 产出 30 / 效益 30 (illustrative points; the setting ``evaluation.forms`` replaces a kind's form).
    """


@hookspec(firstresult=True)
def evaluation_grade_bands(tenant: TenantView, kind: str) -> list[list[Any]] | None:
    """Grade bands, best first: ``[["优", 90], ["良", 80], ["中", 60], ["差", 0]]`` — a total at or above a
    band's lower bound gets its grade. **firstresult**. National default: the setting
    ``evaluation.grade_bands`` (优 ≥ 90, 良 80–89, 中 60–79, 差 < 60).
    """


@hookspec(firstresult=True)
def sample_for_reevaluation(tenant: TenantView, candidates: list[ProjectView], rng: random.Random) -> list[int] | None:
    """Choose the re-evaluation sample (抽评) from self-evaluated projects.

    ``candidates`` are read-only ``ProjectView`` objects sorted by id; ``rng`` is a ``random.Random`` seeded
    with the draw's recorded seed — use it for every random choice, so the draw can be reproduced.
    Return the chosen project ids. **firstresult**. National default: every key project, plus a share of the
    others given by the setting ``evaluation.sample_rate`` (at least one).
    """


@hookspec(firstresult=True)
def suggest_results_action(tenant: TenantView, grade: str, year: int) -> dict[str, str] | None:
    """The action a grade suggests for next year's budget: ``{"action": code, "label": Chinese text}``.

    ``year`` is the budget year of the evaluated project (the decision shapes the budget of ``year + 1``), so
    a rule can answer only for the years it is in force. The action should be one of
    ``results_actions(tenant, year)``. **firstresult**. National default: 优 → 优先保障 (``prioritise``),
    良 → 保障 (``maintain``), 中 → 压缩 / 督促改进 (``reduce``), 差 → 削减或取消 (``cut``).
    """


@hookspec(firstresult=True)
def results_actions(tenant: TenantView, year: int) -> list[dict[str, str]] | None:
    """The decisions finance may record on an evaluation's result for budget ``year``.

    Return a list of ``{"action": code, "label": Chinese text}``, in the order they are offered; a decision
    whose code is not listed is refused (the action suggested for the evaluation's grade is always accepted
    as well). ``year`` is as for ``suggest_results_action``. **firstresult**. National default: the four
    actions of national practice — 优先保障 (``prioritise``), 保障 (``maintain``), 压缩预算，督促改进
    (``reduce``), 削减或取消 (``cut``).
    """


@hookspec(firstresult=True)
def evaluation_authority(tenant: TenantView) -> list[list[str]] | None:
    """Which evaluation of a project decides its results when several disagree (self-evaluation 优, finance
    re-evaluation 中): evaluation kinds (``self``, ``department``, ``finance``, ``third_party``) in tiers, the most
    authoritative first; within a tier the latest submitted decides. A decision on an evaluation that a more
    authoritative submitted one outranks is refused (409), and deciding on the more authoritative one takes the
    others' decisions out of force (kept and shown, no longer applied to next year's budget or counted). A kind
    left out ranks last. **firstresult**. National default: third party and finance, then department, then self
    (``[["third_party", "finance"], ["department"], ["self"]]``).
    """


@hookspec
def on_lifecycle_event(tenant: TenantView, event: str, project: ProjectView, actor: str, detail: dict[str, Any]) -> None:
    """Event: a project moved through its lifecycle (``targets.submitted``, ``targets.approved``,
    ``budget.approved``, ``monitoring.submitted``, ``evaluation.submitted``, ``rectification.issued``,
    ``results.decided``, …). Called after the change committed, only for the tenant's plugins; ``project`` is a
    ``ProjectView``, ``actor`` the username, ``detail`` plain values. Return nothing.
    """


@hookspec
def monitoring_warnings(tenant: TenantView, project: ProjectView, report: MonitoringView) -> list[dict[str, Any]] | None:
    """Warnings about a monitoring report, beyond its traffic light (预警).

    Called when a unit files a report. ``report`` is a read-only ``MonitoringView`` (period, executed amount,
    execution rate in percent, each indicator's attainment in percent). **Collected**. Return a list of
    ``{"code": ..., "message": ... (Chinese), "response_days": n or None}``; when any warning names
    ``response_days``, the unit must answer it (继续执行 / 调剂 / 取消) within that many working days, or the
    daily scan suspends the project's payment. National default: no warnings beyond the lights.
    """


# ---- Indicator catalogs -------------------------------------------------------------------------------------


@hookspec
def register_indicator_catalogs(tenant: TenantView, year: int) -> list[dict[str, Any]] | None:
    """Indicator catalogs (共性指标库) in force for ``tenant`` in budget ``year``.

    **Collected**. Each catalog is a dict: ``{"code", "name", "source", "years": [first, last or None],
    "categories": [{"code", "name", "indicators": [{"code", "level1", "level2", "name", "direction",
    "unit", "typical_value"}]}]}``; the core keeps those whose ``years`` include ``year``. Units pick common
    indicators from it when they fill targets; a plugin's
    ``validate_targets`` may require them. Ship catalogs as data files in the plugin package.
    """


# ---- Inter-level assessment ---------------------------------------------------------------------------------


@hookspec
def register_assessment_schemes(tenant: TenantView, year: int) -> list[dict[str, Any]] | None:
    """Assessment schemes (考核方案) an upper tenant may open a campaign with for budget ``year``.

    **Collected**. Each scheme is data: ``{"code", "name", "rule_set" (which rules answered, e.g.
    "hunan-2021"), "years": [first, last or None], "subjects": "counties" | "cities" | "cities_and_counties" |
    "departments", "for_levels": ["province", "city"], "scales": [{"code", "labels" (best first), "points"
    (optional)}], "states": ["not_applicable", "insufficient_information"] (what assessors may give instead of a
    score), "aggregate": "sum" | {"method": "weakest" | "table" | "hook", …}, "groups": [{"code", "name",
    "aggregate", "indicators": [{"code", "name", "max", "kind": "computed" | "assessed" | "bonus" | "deduction" |
    "veto", "metric" (computed only), "no_data": "not_applicable" | "zero" | "full", "scale", "bands"}]}],
    "grades": [["优秀", 90], …]}`` (docs/plugins.md gives every key). A scheme of earlier releases (no scales, no
    aggregate, ``empty`` for ``no_data``) reads as points summed. The core keeps only the schemes whose
    ``years`` include ``year``, so a plugin may return every edition.
    The metrics a computed indicator may name are listed in docs/plugins.md.
    """


@hookspec(firstresult=True)
def assessment_grade(tenant: TenantView, scheme: dict[str, Any], total: Decimal,
                     result: AssessmentResultView) -> str | None:
    """The grade of a subject's total (``Decimal``) in a campaign with ``scheme``. **firstresult**.

    ``result`` is the subject's result as finalising knows it before grading and ranking: its items (state,
    label, points, maximum), its groups' results and its ``label`` on the scheme's scale (``grade`` and ranks
    ``None``). National default: the scheme's ``grades`` bands on the total; a scheme without ``grades`` that
    aggregates to a label grades by the label; else 优秀 ≥ 90, 良好 ≥ 80, 合格 ≥ 60, 不合格.
    """


@hookspec(firstresult=True)
def assessment_awards(tenant: TenantView, scheme: dict[str, Any], results: list[AssessmentResultView],
                      ancestor_results: dict[str, dict[str, Any]]) -> dict[str, dict[str, list[str]]] | None:
    """Awards (奖励) and notices (通报 / 约谈) once a campaign is finalised. **firstresult**.

    ``results`` are read-only ``AssessmentResultView`` objects (code, name, division_type, parent_code, total,
    grade, rank, rank_in_parent, vetoed, ranked, coverage, label, the items with their states, labels and points,
    the groups' results); ``ancestor_results`` maps subject codes to what upper levels
    published about them the same year (``{"rank", "of", "grade", "total", "label", "assessor"}``; e.g. a city
    sees the province's ranking of its counties). Return ``{code: {"awards": [...], "notices": [...]}}`` in
    Chinese. National default: none.
    """


@hookspec(firstresult=True)
def assessment_aggregate(tenant: TenantView, scheme: dict[str, Any], group: dict[str, Any],
                         items: tuple[AssessmentItemView, ...]) -> AssessmentAggregate | None:
    """Combine a group's items (or, for the subject's result, the groups) where the scheme declares
    ``aggregate: {"method": "hook", "name": …}``. **firstresult**.

    ``scheme`` is the campaign's scheme (normalised: its ``scales`` give the labels' order); ``group`` the
    group as the scheme declares it (``code``, ``name``, ``aggregate``, ``indicators``), or, with ``"level":
    "scheme"``, the scheme's own aggregate, whose ``items`` are then the groups' results (``kind`` ``"group"``).
    ``items`` are ``AssessmentItemView`` objects with their state, label, points and ``counted`` (false: left
    out — not applicable, insufficient information — to be ignored). Called only when at least one item is
    counted. Return ``jixiao.toolkit.AssessmentAggregate(label, points, note)``, or ``None`` to let another
    plugin answer. National default: none (the result is then left without a label, saying so).
    """


# ---- Composition: what an app is made of (called once per app, on every installed plugin) --------------------


@hookspec
def register_blueprints() -> list[flask.Blueprint] | None:
    """Flask blueprints of web pages. **Collected**, in the order plugins were registered (the core's first).
    A blueprint's name must be unique across plugins; URLs under ``/t/<tenant_code>/`` are tenant pages and
    must check the tenant like the core's (``jixiao.toolkit`` gives the helpers).
    """


@hookspec
def register_api_blueprints() -> list[Any] | None:
    """flask-smorest blueprints of the JSON API, mounted under ``/api/v1`` and documented in its OpenAPI
    document. **Collected**. Use the toolkit's schemas for errors and decimals so the document stays true.
    """


@hookspec
def register_commands() -> list[click.Command] | None:
    """click commands or groups added to the ``jixiao`` command line (they run inside an app context).
    **Collected**; a name already taken is refused when the app is made.
    """


@hookspec
def register_job_kinds() -> list[Callable[..., Any]] | None:
    """Background job kinds: functions decorated with ``jixiao.toolkit.job_kind``. **Collected**; a kind
    name taken twice stops the app from being made. The web process and every worker make the same app, so
    both know the same kinds.
    """


@hookspec
def register_schedules() -> list[Schedule] | None:
    """Periodic jobs for ``jixiao scheduler``: ``jixiao.toolkit.Schedule(kind, cron, purpose)``, the kind
    registered by ``register_job_kinds``. **Collected**.
    """


@hookspec
def register_document_owners() -> list[DocumentOwner] | None:
    """Record types that own generated documents, with who may read them:
    ``jixiao.toolkit.DocumentOwner(owner_type, visible, label)``, where ``visible(session, actor,
    tenant)`` is an SQL condition on documents. A document whose owner type nobody registered is read only by
    its tenant's readers and its author. **Collected**.
    """


@hookspec
def register_assessment_metrics() -> list[Metric] | None:
    """Metrics a computed assessment indicator may name (``"metric"`` in a scheme):
    ``jixiao.toolkit.Metric(name, label, numerator, denominator, amount)``. **Collected**; a name
    taken twice stops the app from being made.
    """


@hookspec
def notification_channels() -> list[NotificationChannel] | None:
    """Channels that carry notifications beyond the in-app bell (e-mail, an instant-messaging robot, SMS …).

    Each is an object with ``name`` (unique), ``label`` (Chinese) and ``send(notification, recipient)``, where
    ``notification`` is a ``jixiao.toolkit.NotificationMessage`` (id, tenant_id, kind, title, body, url — absolute
    when ``JIXIAO_PUBLIC_URL`` is set) and ``recipient`` a ``jixiao.toolkit.Recipient`` (id, username,
    display_name, email or ``None``). Optional: ``enabled()`` (false: skipped, e.g. not configured) and
    ``send_many(pairs, on_sent=None)`` (a batch over one connection; returns the number sent, and calls
    ``on_sent(notification, recipient)`` for each as it is accepted). Called from a background job
    (``notifications.deliver``), never in a request: raise ``TransientJobError`` to have the batch retried —
    what was accepted (each ``send`` returned, each ``on_sent``) is recorded and not sent again.
    **Collected** once, when an app is made; a name taken twice stops the app from being made. The core ships
    ``email`` (on when ``JIXIAO_SMTP_URL`` is set).
    """


@hookspec
def register_todo_sources() -> list[Callable[..., list[TodoItem]]] | None:
    """Sources of the to-do list (待办) home pages lead with: ``fn(session, actor, tenant, *, limit) ->
    list[TodoItem]`` (``jixiao.toolkit.TodoItem``), called for a user in their own tenant, answering at most
    ``limit`` items in a bounded number of statements. A source without ``limit`` (``fn(session, actor,
    tenant)``) is still called, its answer cut at the limit. **Collected**.
    """


#: Each hook in a few Chinese words, for the operator's pages, which show the hook's name beside it as secondary
#: text. tests/test_words_not_codes.py fails when a hook has none, so a new hook cannot reach a page as a bare name.
LABELS: dict[str, str] = {
    "tenant_default_settings": "插件提供的默认设置",
    "declare_settings": "声明插件读取的设置",
    "on_tenant_loaded": "财政部门载入或变更时（事件）",
    "exante_required": "是否需要事前绩效评估",
    "exante_dimensions": "事前绩效评估的评估维度",
    "validate_targets": "绩效目标审核规则",
    "monitoring_periods": "绩效监控报送月份",
    "monitoring_light": "监控预警灯（红黄绿蓝）",
    "evaluation_weights": "绩效评价各级指标分值",
    "evaluation_grade_bands": "绩效评价等级划分",
    "sample_for_reevaluation": "抽取再评价样本",
    "suggest_results_action": "评价结果的建议应用",
    "results_actions": "结果应用的处理决定",
    "evaluation_authority": "多份评价时以哪份为准",
    "on_lifecycle_event": "项目环节变化时（事件）",
    "monitoring_warnings": "绩效监控预警规则",
    "register_indicator_catalogs": "共性指标库",
    "register_assessment_schemes": "考核方案",
    "assessment_grade": "考核等级",
    "assessment_awards": "考核奖励与通报",
    "assessment_aggregate": "考核指标组的合成方法",
    "register_blueprints": "网页",
    "register_api_blueprints": "数据接口（API）",
    "register_commands": "命令行命令",
    "register_job_kinds": "后台任务类型",
    "register_schedules": "定时任务",
    "register_document_owners": "文书的归属与查看权限",
    "register_assessment_metrics": "考核的计算指标",
    "notification_channels": "通知渠道（电子邮件等）",
    "register_todo_sources": "待办事项来源",
}


def label(name: str) -> str:
    """A hook's label; a name this module does not declare (a plugin's misspelt or retired hook) as it is."""
    return LABELS.get(name, name)
