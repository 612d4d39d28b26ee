"""Every model, imported in one place so the metadata is complete (Alembic, tests, the app)."""

from jixiao.accounts.models import ApiToken, Department, User
from jixiao.audit.models import AuditEvent
from jixiao.tenancy.models import Tenant

__all__ = ["ApiToken", "AuditEvent", "Department", "Tenant", "User"]
