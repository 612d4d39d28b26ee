"""Jobs and notifications API: a user sees only their tenant's jobs and their own notifications."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from jixiao import pagination
from jixiao.auth import require_login
from jixiao.db import session
from jixiao.errors import Forbidden
from jixiao.jobs import notifications, service
from jixiao.jobs.schemas import JobPageSchema, JobRequestSchema, JobSchema, NotificationListSchema

blp = Blueprint("jobs_api", __name__, description="Background jobs and notifications")


@blp.route("/jobs")
class Jobs(MethodView):
    @require_login
    @blp.arguments(pagination.OptionalPageQuerySchema, location="query")
    @blp.doc(**pagination.list_or_page_doc(JobSchema, JobPageSchema, "the latest 50 jobs; with page or per_page, "
                                                                       "one page of them all and their number"))
    def get(self, args: dict[str, Any]) -> Any:
        """The jobs of the user's tenant, newest first: the latest 50, or a page (``page``, ``per_page``)."""
        wanted = pagination.requested(args)
        found = service.list_jobs(session(), current_user) if wanted is None else \
            service.job_page(session(), current_user, *wanted)
        return pagination.answer(JobSchema, JobPageSchema, found)

    @require_login
    @blp.arguments(JobRequestSchema)
    @blp.response(202, JobSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Ask for a job (administrators may run the workers' self-check); 503 when the queue is down."""
        if not current_user.has_role("admin") or current_user.tenant is None:
            raise Forbidden("只有本级管理员可以运行后台自检")
        return service.enqueue(session(), current_user, current_user.tenant, data["kind"], data["args"])


@blp.route("/jobs/<int:job_id>")
class JobItem(MethodView):
    @require_login
    @blp.response(200, JobSchema)
    def get(self, job_id: int) -> Any:
        """One job: status, progress (0–100 with a message), result or error."""
        return service.get_job(session(), current_user, job_id)


@blp.route("/notifications")
class Notifications(MethodView):
    @require_login
    @blp.arguments(pagination.PageQuerySchema, location="query")
    @blp.response(200, NotificationListSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The user's notifications, newest first, a page at a time (``page``, ``per_page``), with the unread
        count."""
        unread, found = notifications.page_for_user(session(), current_user, args["page"], args["per_page"])
        return {"unread": unread, **found.envelope()}


@blp.route("/notifications/read")
class NotificationsRead(MethodView):
    @require_login
    @blp.response(204)
    def post(self) -> None:
        """Mark all the user's notifications read."""
        notifications.mark_read(session(), current_user)


@blp.route("/notifications/<int:notification_id>/read")
class NotificationRead(MethodView):
    @require_login
    @blp.response(204)
    def post(self, notification_id: int) -> None:
        """Mark one notification read."""
        notifications.mark_read(session(), current_user, notification_id)
