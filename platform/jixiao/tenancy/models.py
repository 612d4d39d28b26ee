"""Tenants: one finance bureau each, in the province → city → county tree of GB/T 2260 codes."""

from __future__ import annotations

import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from jixiao.db import Base, TimestampMixin


class TenantLevel(enum.StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"

    @property
    def label(self) -> str:
        return {"province": "省级", "city": "市级", "county": "县级"}[self.value]


def plugins_in_force(listed: list[str] | None, enabled: list[str] | None, disabled: list[str] | None) -> list[str]:
    """A tenant's own plugins from its three columns: the YAML's list in order, less what an operator disabled,
    then what an operator enabled."""
    blocked = set(disabled or [])
    own = [name for name in listed or [] if name not in blocked]
    return own + [name for name in enabled or [] if name not in own and name not in blocked]


class Tenant(TimestampMixin, Base):
    """A finance bureau. Not tenant-owned itself: who may see which tenant is the access rule's business."""

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(6), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    level: Mapped[TenantLevel] = mapped_column(sa.Enum(TenantLevel, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]))
    division_type: Mapped[str] = mapped_column(sa.String(16))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    # "/430000/431100/431102/": descendants are a prefix match, ancestors are the path's own codes.
    path: Mapped[str] = mapped_column(sa.String(64), index=True)
    # Plugins and settings this tenant declares itself; descendants inherit them (see service.effective_*).
    plugins: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # The operator's overlay on the YAML's list (jixiao tenants enable/disable): kept across YAML reloads.
    plugins_enabled: Mapped[list[str]] = mapped_column(sa.JSON, default=list, server_default=sa.text("'[]'"))
    plugins_disabled: Mapped[list[str]] = mapped_column(sa.JSON, default=list, server_default=sa.text("'[]'"))
    settings: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    active: Mapped[bool] = mapped_column(default=True)

    parent: Mapped[Tenant | None] = relationship(remote_side=[id], lazy="joined", join_depth=1)

    @property
    def plugins_in_force(self) -> list[str]:
        """The plugins this tenant itself enables (descendants inherit them): see :func:`plugins_in_force`."""
        return plugins_in_force(self.plugins, self.plugins_enabled, self.plugins_disabled)

    @property
    def bureau_name(self) -> str:
        """The finance bureau's own name: 财政厅 at province level, 财政局 below."""
        return self.name + ("财政厅" if self.level is TenantLevel.PROVINCE else "财政局")

    @property
    def parent_code(self) -> str | None:
        return self.parent.code if self.parent else None

    @property
    def ancestor_codes(self) -> list[str]:
        return [c for c in self.path.strip("/").split("/") if c and c != self.code]

    @property
    def is_district(self) -> bool:
        """A 区 (municipal district): some rules differ for districts (seed 002)."""
        return self.division_type == "区"

    def __repr__(self) -> str:
        return f"<Tenant {self.code} {self.name}>"
