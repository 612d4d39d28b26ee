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
    job = service.get_job(session(), current_user, job_id)
    return render_template("jobs/job.html", job=job, outcome=service.job_outcome(session(), job))


def _page() -> int:
    """The page asked for (``?page=``); the request guard has refused anything but a whole number in range."""
    return max(request.args.get("page", 1, type=int) or 1, 1)


@bp.route("/jobs")
@require_login
def jobs() -> Any:
    found = service.job_page(session(), current_user, _page())
    return render_template("jobs/jobs.html", jobs=found.items, found=found, kind_label=service.kind_label)


@bp.route("/notifications", methods=["GET", "POST"])
@require_login
def inbox() -> Any:
    if request.method == "POST":
        notifications.mark_read(session(), current_user)
        return redirect(url_for("jobs.inbox"))
    unread, found = notifications.page_for_user(session(), current_user, _page())
    return render_template("jobs/notifications.html", unread=unread, items=found.items, found=found)


@bp.route("/notifications/<int:notification_id>")
@require_login
def open_notification(notification_id: int) -> Any:
    """Mark it read and go where it points."""
    notifications.mark_read(session(), current_user, notification_id)
    return redirect(notifications.target(session(), current_user, notification_id) or url_for("jobs.inbox"))
