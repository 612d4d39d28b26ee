"""Schemas of generated documents."""

from __future__ import annotations

from flask import g
from marshmallow import fields

from jixiao.documents import service
from jixiao.dumping import Schema
from jixiao.inputs import Id, Text


class DocumentSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "evaluation_report, rectification_notice, ranking_notice, "
                                                  "statistics_report, export, import_errors"})
    kind_label = fields.Function(lambda d: service.KIND_LABELS.get(d.kind, d.kind))
    owner_type = fields.String(metadata={"description": "the record it belongs to: evaluations, "
                                                        "rectification_notices, tenants, ..."})
    owner_id = fields.Integer()
    title = fields.String()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer(metadata={"description": "bytes"})
    sha256 = fields.String()
    job_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    url = fields.Function(lambda d: _url(d), metadata={"description": "where to download it"})


def _url(document: object) -> str:
    tenant = g.get("tenant")
    return service.download_url(tenant, document) if tenant is not None else ""  # type: ignore[arg-type]


class DocumentQuerySchema(Schema):
    owner_type = Text(load_default=None, multiline=False, max_length=40,
                               metadata={"description": "with owner_id: the documents of one record"})
    owner_id = Id(load_default=None, query=True)
    kind = Text(load_default=None, multiline=False, max_length=40)
