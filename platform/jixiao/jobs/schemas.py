"""Schemas for jobs and notifications."""

from __future__ import annotations

from marshmallow import fields, validate

from jixiao import pagination
from jixiao.db import session
from jixiao.dumping import Schema
from jixiao.inputs import MAX_LIST_ITEMS
from jixiao.jobs.service import job_outcome, kinds


class JobSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    label = fields.Function(lambda job: _label(job.kind))
    queue = fields.String()
    status = fields.String()
    status_label = fields.Function(lambda job: job.status.label)
    progress = fields.Integer(metadata={"description": "0–100"})
    message = fields.String()
    result = fields.Dict(allow_none=True)
    summary = fields.Function(lambda job: job_outcome(session(), job).summary,
                              metadata={"description": "what the finished job did, in words (empty until it has)"})
    result_link = fields.Function(lambda job: job_outcome(session(), job).link,
                                  metadata={"description": "where its record is shown or downloaded, or null"})
    result_link_label = fields.Function(lambda job: job_outcome(session(), job).link_label,
                                        metadata={"description": "the words of that link"})
    result_fields = fields.Function(
        lambda job: [{"name": name, "value": value} for name, value in job_outcome(session(), job).fields],
        metadata={"description": "for a kind without words of its own: the result's plain fields, each "
                                 "{name, value} as text (empty otherwise)"})
    error = fields.String(metadata={"description": "why it failed, in words a user understands"})
    attempts = fields.Integer()
    max_attempts = fields.Integer()
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)


def _label(kind: str) -> str:
    known = kinds()
    return known[kind].label if kind in known else kind


class JobRequestSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["system.selfcheck"]))
    args = fields.Dict(load_default=dict, validate=validate.Length(max=MAX_LIST_ITEMS))


class NotificationSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    title = fields.String()
    body = fields.String()
    url = fields.String()
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


class NotificationListSchema(Schema):
    """One page of the user's notifications (the project list's envelope), with the unread count."""

    unread = fields.Integer()
    items = fields.List(fields.Nested(NotificationSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


JobPageSchema = Schema.from_dict(pagination.page_fields(JobSchema), name="JobPageSchema")
