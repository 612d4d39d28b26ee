"""The file store: content-addressed files under the instance folder, one folder per tenant.

``JIXIAO_INSTANCE_PATH/files/<tenant id>/<sha256>``: writing the same bytes twice stores them once, and a
file is written to a temporary name and renamed, so a crash never leaves half a file under a real name.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from jixiao import audit
from jixiao.documents.models import Document
from jixiao.errors import NotFound


def folder(tenant_id: int) -> Path:
    path = Path(current_app.instance_path) / "files" / str(tenant_id)
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_bytes(tenant_id: int, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    target = folder(tenant_id) / digest
    if not target.exists():
        partial = target.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(target)
    return digest


def path_of(tenant_id: int, sha256: str) -> Path:
    return folder(tenant_id) / sha256


def discard_bytes(tenant_id: int, sha256: str) -> bool:
    """Remove the stored bytes of ``sha256`` (the caller made sure no record refers to them any more).

    True when a file was removed; bytes already gone are not an error. Content-addressed storage shares one
    file between every record of the tenant with the same content, hence the caller's check.
    """
    target = path_of(tenant_id, sha256)
    if not target.is_file():
        return False
    target.unlink(missing_ok=True)
    return True


def referenced_by_documents(session: Session, tenant_id: int, sha256: str) -> bool:
    """Whether a generated document of the tenant is stored as these bytes."""
    return session.scalar(sa.select(Document.id).where(Document.tenant_id == tenant_id,
                                                       Document.sha256 == sha256).limit(1)) is not None


def save_document(session: Session, *, tenant_id: int, kind: str, owner_type: str, owner_id: int, title: str,
                  filename: str, content_type: str, data: bytes, job_id: int | None = None,
                  actor_id: int | None = None) -> Document:
    """Store the bytes and record the document (the caller commits). Idempotent per owner, kind and content."""
    digest = write_bytes(tenant_id, data)
    existing = session.scalar(sa.select(Document).where(
        Document.owner_type == owner_type, Document.owner_id == owner_id, Document.kind == kind,
        Document.sha256 == digest))
    if existing is not None:
        return existing
    document = Document(tenant_id=tenant_id, kind=kind, owner_type=owner_type, owner_id=owner_id, title=title[:200],
                        filename=filename[:255], content_type=content_type, size=len(data), sha256=digest,
                        job_id=job_id, created_by_id=actor_id)
    session.add(document)
    session.flush()
    audit.record(session, actor=None, action="document.create", obj=document,
                 after={"kind": kind, "owner": f"{owner_type}/{owner_id}", "filename": filename})
    return document


def documents_of(session: Session, owner_type: str, owner_id: int) -> list[Document]:
    return list(session.scalars(sa.select(Document).where(Document.owner_type == owner_type,
                                                           Document.owner_id == owner_id).order_by(Document.id.desc())))


def get_document(session: Session, actor: Any, document_id: int) -> Document:
    """A document of the tenants the actor may read (the session's scope decides; others do not exist)."""
    document = session.get(Document, document_id)
    if document is None:
        raise NotFound("未找到该文件")
    return document
