"""Generated documents: who may read them, who may ask for one, and how each is stored.

The documents package is infrastructure: it knows no domain. Each domain registers the record types that own
documents (``register_document_owners``: who may read them by the record's own rules, where the record is
shown) and renders its own PDFs (``jixiao.documents.pdf``), storing them with :func:`store_pdf`.

- **Reading** a document is for whoever may read the record it belongs to (department staff see their
  department's projects, an agency only what it was assigned): a document is listed and downloadable through
  the URL's tenant only, and only if its record is visible (else 404).
- **Asking** for a PDF is a write: only users of the record's own tenant whose role works on it
  (:func:`require_generator`); upper levels read, they do not generate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import Session

from jixiao import policy
from jixiao.accounts.models import Role, User
from jixiao.documents import pdf
from jixiao.documents.models import Document
from jixiao.documents.store import save_document
from jixiao.errors import Forbidden, NotFound
from jixiao.plugins import by_name
from jixiao.tenancy.models import Tenant
from jixiao.toolkit import DocumentOwner

PDF = "application/pdf"
#: Roles that work on evaluations and notices, and so may ask for their PDFs (in their own tenant).
GENERATOR_ROLES = (Role.ADMIN, Role.FINANCE, Role.DEPARTMENT, Role.EVALUATOR)

KIND_LABELS = {
    "evaluation_report": "绩效评价报告",
    "rectification_notice": "整改通知书",
    "ranking_notice": "考核结果通报",
    "statistics_report": "年度统计报告",
    "export": "数据导出",
    "import_errors": "导入错误报告",
}


# ---- Who may read which documents ---------------------------------------------------------------------------

#: fn(session, actor, tenant) giving the SQL condition on ``Document`` for the visible documents of one owner type.
VisibleCondition = Callable[[Session, User, Tenant], Any]


def init_app(app: Flask, owners: list[DocumentOwner]) -> None:
    """Record the app's document owner types (collected from the plugins' ``register_document_owners``)."""
    app.extensions["jixiao.document_owners"] = by_name(owners, lambda owner: owner.owner_type, "document owner type")


def owner_types() -> dict[str, DocumentOwner]:
    """The current app's document owner types."""
    return current_app.extensions["jixiao.document_owners"]


def owner_labels() -> dict[str, str]:
    return {owner_type: owner.label for owner_type, owner in owner_types().items()}


def reads_everything(actor: User, tenant: Tenant) -> bool:
    """Upper levels, and finance, administrators, auditors, experts and viewers of the tenant itself."""
    return actor.tenant_id != tenant.id or actor.has_role(*policy.READ_ALL_ROLES)


def visible_condition(session: Session, actor: User, tenant: Tenant) -> Any:
    """The documents of ``tenant`` that ``actor`` may read, as an SQL condition."""
    registered = owner_types()
    known = list(registered)
    branches = [sa.and_(Document.owner_type == owner_type, owner.visible(session, actor, tenant))
                for owner_type, owner in registered.items()]
    # A record type nobody registered: the tenant-wide readers, and whoever made the document.
    fallback = sa.true() if reads_everything(actor, tenant) else Document.created_by_id == actor.id
    branches.append(sa.and_(Document.owner_type.not_in(known), fallback))
    return sa.and_(Document.tenant_id == tenant.id, sa.or_(*branches))


def list_documents(session: Session, actor: User, tenant: Tenant, *, owner_type: str | None = None,
                   owner_id: int | None = None, kind: str | None = None, limit: int = 200) -> list[Document]:
    """The tenant's documents the actor may read, newest first (those of one record with ``owner_*``)."""
    stmt = sa.select(Document).where(visible_condition(session, actor, tenant))
    if owner_type:
        stmt = stmt.where(Document.owner_type == owner_type)
    if owner_id is not None:
        stmt = stmt.where(Document.owner_id == owner_id)
    if kind:
        stmt = stmt.where(Document.kind == kind)
    return list(session.scalars(stmt.order_by(Document.id.desc()).limit(limit)))


def get_document(session: Session, actor: User, tenant: Tenant, document_id: int) -> Document:
    """A document of the URL's tenant whose record the actor may read; anything else does not exist (404)."""
    document = session.scalar(sa.select(Document).where(Document.id == document_id,
                                                        visible_condition(session, actor, tenant)))
    if document is None:
        raise NotFound("未找到该文件，或您无权查看")
    return document


def documents_by_owner(session: Session, actor: User, tenant: Tenant, owner_type: str,
                       owner_ids: list[int]) -> dict[int, list[Document]]:
    """The readable documents of several records at once (e.g. each evaluation on a project page), newest
    first: ``{owner_id: [document, ...]}``; one statement."""
    found: dict[int, list[Document]] = {}
    if not owner_ids:
        return found
    stmt = (sa.select(Document).where(visible_condition(session, actor, tenant), Document.owner_type == owner_type,
                                      Document.owner_id.in_(list(owner_ids)))
            .order_by(Document.id.desc()))
    for document in session.scalars(stmt):
        found.setdefault(document.owner_id, []).append(document)
    return found


def record_pages(session: Session, tenant: Tenant, documents: list[Document]) -> dict[tuple[str, int], str]:
    """Where each document's record is shown (``{(owner_type, owner_id): url}``), as its owner type says."""
    wanted: dict[str, set[int]] = {}
    for document in documents:
        wanted.setdefault(document.owner_type, set()).add(document.owner_id)
    registered = owner_types()
    pages: dict[tuple[str, int], str] = {}
    for owner_type, ids in wanted.items():
        owner = registered.get(owner_type)
        if owner is not None and owner.pages is not None:
            pages.update({(owner_type, owner_id): url for owner_id, url in owner.pages(session, tenant, ids).items()})
    return pages


def download_url(tenant: Tenant | str, document: Document | int) -> str:
    """Built by hand: a worker has no request to build URLs from (the endpoint is DocumentDownload)."""
    code = tenant if isinstance(tenant, str) else tenant.code
    document_id = document if isinstance(document, int) else document.id
    return f"/api/v1/tenants/{code}/documents/{document_id}/download"


def job_result(tenant: Tenant, document: Document) -> dict[str, Any]:
    return {"document_id": document.id, "url": download_url(tenant, document)}


# ---- Who may ask for one ------------------------------------------------------------------------------------


def may_generate(actor: User, tenant: Tenant, roles: tuple[Role, ...] = GENERATOR_ROLES) -> bool:
    """Whether to show the generate buttons (the record's own visibility is checked when asked)."""
    return actor.tenant_id == tenant.id and actor.has_role(*roles)


def require_generator(actor: User, tenant: Tenant, what: str, roles: tuple[Role, ...] = GENERATOR_ROLES) -> None:
    if not actor.tenant_id == tenant.id:
        raise Forbidden(f"只有本级人员可以{what}；下级的数据只读")
    if not actor.has_role(*roles):
        raise Forbidden(f"您的角色不能{what}")


# ---- Storing ----------------------------------------------------------------------------------


def store_pdf(session: Session, tenant: Tenant, *, kind: str, owner_type: str, owner_id: int, title: str,
              filename: str, data: bytes, job_id: int | None, actor_id: int | None) -> Document:
    """Store a rendered PDF on its record and commit; ``filename`` without ``.pdf`` (made safe here). The
    store is content-addressed: the same bytes for the same record give the existing document back."""
    document = save_document(session, tenant_id=tenant.id, kind=kind, owner_type=owner_type, owner_id=owner_id,
                             title=title, filename=pdf.safe_filename(filename) + ".pdf", content_type=PDF,
                             data=data, job_id=job_id, actor_id=actor_id)
    session.commit()
    return document
