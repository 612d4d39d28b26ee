"""Sichuan (四川) rules for Jixiao.

This release ships the region's default settings; the ex-ante and monitoring rules follow (see README).
"""

from __future__ import annotations

from typing import Any

from jixiao import hookimpl
from jixiao.toolkit import load_data_file


@hookimpl
def tenant_default_settings(tenant: Any) -> dict[str, Any]:
    return load_data_file("jixiao_sichuan", "settings.yaml")
