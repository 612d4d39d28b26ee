"""The audit log."""

from jixiao.audit.service import history, record, snapshot

__all__ = ["history", "record", "snapshot"]
