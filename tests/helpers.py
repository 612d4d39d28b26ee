"""Helpers shared by the core's tests."""

from __future__ import annotations

from pathlib import Path

import yaml
from flask import Flask


def load(app: Flask, *paths: Path):
    from jixiao.db import system_scope
    from jixiao.plugins import host
    from jixiao.tenancy import service as tenancy

    with app.app_context(), system_scope() as db:
        return tenancy.load_files(db, host(), paths)


def small_tree(tmp_path: Path, name: str = "small.yaml", **lingling_extra) -> Path:
    """Hunan → Yongzhou → Lingling and Lengshuitan, as a tenants file."""
    document = {
        "code": "430000", "name": "湖南省", "division_type": "省", "plugins": ["hunan"],
        "children": [{"code": "431100", "name": "永州市", "division_type": "地级市", "children": [
            {"code": "431102", "name": "零陵区", "division_type": "区", **lingling_extra},
            {"code": "431103", "name": "冷水滩区", "division_type": "区"},
        ]}],
    }
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path
