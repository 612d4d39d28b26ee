"""Every model, imported in one place so the metadata is complete (Alembic, tests, the app)."""

from jixiao.accounts.models import ApiToken, Department, User
from jixiao.assessment.models import Appeal, Campaign, CampaignScore, CampaignSubject, SubjectAssignment
from jixiao.audit.models import AuditEvent
from jixiao.documents.models import Document
from jixiao.idempotency import IdempotencyKey
from jixiao.jobs.models import Job, Notification, NotificationDelivery
from jixiao.lifecycle.models import (
    Agency,
    Evaluation,
    EvaluationScore,
    EvidenceFile,
    ExAnteAssessment,
    Indicator,
    MonitoringReport,
    MonitoringValue,
    Project,
    RectificationNotice,
    ResultApplication,
    ResultDecision,
    SampleDraw,
    TargetSet,
)
from jixiao.tenancy.models import Tenant

__all__ = [
    "Agency", "ApiToken", "Appeal", "Campaign", "CampaignScore", "CampaignSubject", "SubjectAssignment", "AuditEvent", "Department", "Document", "Evaluation", "EvaluationScore", "EvidenceFile", "IdempotencyKey",
    "ExAnteAssessment", "Indicator", "Job", "Notification", "NotificationDelivery", "MonitoringReport", "MonitoringValue", "Project", "RectificationNotice",
    "ResultApplication", "ResultDecision", "SampleDraw", "TargetSet", "Tenant", "User",
]
