"""Pages: a job's progress (live), and the user's notifications."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user

from jixiao.auth import require_login
from jixiao.db import session
from jixiao.jobs import notifications, service

bp = Blueprint("jobs", __name__, template_folder="templates")


@bp.route("/jobs/<int:job_id>")
@require_login
def job(job_id: int) -> Any:
    return render_template("jobs/job.html", job=service.get_job(session(), current_user, job_id))


@bp.route("/jobs")
@require_login
def jobs() -> Any:
    return render_template("jobs/jobs.html", jobs=service.list_jobs(session(), current_user))


@bp.route("/notifications", methods=["GET", "POST"])
@require_login
def inbox() -> Any:
    if request.method == "POST":
        notifications.mark_read(session(), current_user)
        return redirect(url_for("jobs.inbox"))
    unread, items = notifications.for_user(session(), current_user, limit=100)
    return render_template("jobs/notifications.html", unread=unread, items=items)


@bp.route("/notifications/<int:notification_id>")
@require_login
def open_notification(notification_id: int) -> Any:
    """Mark it read and go where it points."""
    notifications.mark_read(session(), current_user, notification_id)
    unread, items = notifications.for_user(session(), current_user, limit=100)
    target = next((n.url for n in items if n.id == notification_id and n.url), None)
    return redirect(target or url_for("jobs.inbox"))
