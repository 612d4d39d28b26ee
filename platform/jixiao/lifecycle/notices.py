"""Workflow notices: the bell's notifications of what happened to a project, for those who have to act on it.

The lifecycle's services tell the plugins of each change after it committed (``on_lifecycle_event``); the core's
lifecycle plugin answers that hook with :func:`on_lifecycle_event` here, so a notice is written for every tenant
whatever plugins it enables. Who is told is ``jixiao.policy.project_audience`` (only those who can open the
project, among those the event concerns): one statement for the audience, one ``INSERT`` for the notices (the
unique key keeps a notice once per user, however often it is written), then the channels beyond the bell
(e-mail) get them from a job (``jixiao.jobs.channels``).

=====================  ==================================  =============================================
event                  told                                what
=====================  ==================================  =============================================
targets.approved       the unit (project's department up)  绩效目标已批复
targets.returned       the unit                            绩效目标被退回，附退回原因
rectification.issued   the unit                            整改通知，附问题数和期限
rectification.returned the unit                            整改情况被退回，附退回原因
rectification.answered finance                             单位已反馈整改情况
monitoring.submitted   finance, when the light turns red   监控亮红灯（每次亮红灯一次，更正后仍为红灯不再通知）
monitoring.responded   finance                             单位已回应监控预警（继续执行 / 调剂 / 取消）
=====================  ==================================  =============================================
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from jixiao import db
from jixiao.jobs import channels
from jixiao.jobs.notifications import write_many
from jixiao.lifecycle.models import WarningResponse
from jixiao.policy import Concern, audience_of
from jixiao.toolkit import ProjectView, TenantView

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Notice:
    """One notice about one project, before its audience is known."""

    concern: tuple[Concern, ...]
    kind: str
    title: str
    body: str
    anchor: str
    #: Unique per occurrence of the event (the record's id and version): a repeated write is the same notice.
    dedupe_key: str


def project_url(tenant_code: str, project_id: int, anchor: str) -> str:
    # Built by hand: a worker has no request to build URLs from (the page is lifecycle.project).
    return f"/t/{tenant_code}/projects/{project_id}#{anchor}"


def notice_for(event: str, project: ProjectView, detail: dict[str, Any]) -> Notice | None:
    """The notice an event calls for, or None (an event nobody needs to be told of, or one without the record's
    id and version, which a notice needs to be written once)."""
    name = project.name
    version = detail.get("version")
    if event in ("targets.approved", "targets.returned") and detail.get("target_set_id") and version:
        key = f"targets:{detail['target_set_id']}:{version}"
        if event == "targets.approved":
            comment = detail.get("comment") or ""
            return Notice((Concern.UNIT,), "targets_approved", f"绩效目标已批复：《{name}》",
                          "财政已批复本项目的绩效目标。" + (f"意见：{comment}" if comment else ""), "targets", key)
        return Notice((Concern.UNIT,), "targets_returned", f"绩效目标被退回：《{name}》",
                      f"退回原因：{detail.get('comment') or '未填写'}。请修改后重新报送。", "targets", key)
    notice_id = detail.get("notice_id")
    if event == "rectification.issued" and notice_id and version:
        return Notice((Concern.UNIT,), "rectification_issued", f"整改通知：《{name}》",
                      f"财政下达整改通知，共 {detail.get('problems', 0)} 项问题，整改期限 {detail.get('deadline')}。",
                      "rectification", f"rectification:{notice_id}:{version}")
    if event == "rectification.returned" and notice_id and version:
        return Notice((Concern.UNIT,), "rectification_returned", f"整改情况被退回：《{name}》",
                      f"财政未通过核验，退回原因：{detail.get('reason') or '未填写'}。请继续整改后重新反馈。",
                      "rectification", f"rectification:{notice_id}:{version}")
    if event == "rectification.answered" and notice_id and version:
        return Notice((Concern.FINANCE,), "rectification_answered", f"单位已反馈整改情况：《{name}》",
                      "请核验整改措施和结果。", "rectification", f"rectification:{notice_id}:{version}")
    report_id, period = detail.get("report_id"), detail.get("period")
    red_episode = detail.get("red_episode")
    if event == "monitoring.submitted" and detail.get("light") == "red" and report_id and red_episode:
        # Once per red light: a correction that keeps it red is not a new one (see MonitoringReport.red_episode).
        return Notice((Concern.FINANCE,), "light_red", f"监控亮红灯：《{name}》{period}月",
                      f"{period}月绩效监控报告亮红灯，请关注偏差原因和纠偏措施。", "monitoring",
                      f"light-red:{report_id}:{red_episode}")
    if event == "monitoring.responded" and report_id and version:
        label = _response_label(str(detail.get("response") or ""))
        return Notice((Concern.FINANCE,), "warning_answered", f"单位已回应监控预警：《{name}》{period}月",
                      f"单位的回应：{label}。", "monitoring", f"warning-answer:{report_id}:{version}")
    return None


def _response_label(code: str) -> str:
    try:
        return WarningResponse(code).label
    except ValueError:
        return code


def on_lifecycle_event(tenant: TenantView, event: str, project: ProjectView, detail: dict[str, Any]) -> list[int]:
    """Write the notice ``event`` calls for (after the change committed), then hand it to the other channels.
    The ids of the notifications written.

    The change stands whatever happens here: a notice that cannot be written is logged, not raised, so the
    request that made the change still answers that it was made."""
    notice = notice_for(event, project, detail)
    if notice is None:
        return []
    session = db.session()
    try:
        written = tell(session, tenant.id, tenant.code, [(project.id, notice)])
        session.commit()
    except sa.exc.SQLAlchemyError:
        session.rollback()
        logger.exception("notice of %s for project %s not written", event, project.id)
        return []
    channels.dispatch(session, tenant, written)
    return written


def tell(session: Any, tenant_id: int, tenant_code: str, notices: Sequence[tuple[int, Notice]]) -> list[int]:
    """Write each (project id, notice) for its audience: one statement per concern for the audience, one
    ``INSERT`` per thousand notifications. The ids of those written (not of those written before); the caller
    commits, then hands them to :func:`jixiao.jobs.channels.dispatch`."""
    by_concern: dict[tuple[Concern, ...], list[int]] = {}
    for project_id, notice in notices:
        by_concern.setdefault(notice.concern, []).append(project_id)
    audience: dict[tuple[tuple[Concern, ...], int], list[int]] = {}
    for concern, project_ids in by_concern.items():
        for user_id, project_id in audience_of(session, project_ids, *concern):
            audience.setdefault((concern, project_id), []).append(user_id)
    return write_many(session, (
        {"tenant_id": tenant_id, "user_id": user_id, "kind": notice.kind, "title": notice.title, "body": notice.body,
         "url": project_url(tenant_code, project_id, notice.anchor), "dedupe_key": notice.dedupe_key}
        for project_id, notice in notices for user_id in audience.get((notice.concern, project_id), ())))
