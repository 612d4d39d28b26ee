"""The audit log."""

from jixiao.audit.service import history, record, record_many, snapshot

__all__ = ["history", "record", "record_many", "snapshot"]
