"""The benchmark's data: a scratch PostgreSQL database with the production role split, a generated province and
the users who read it.

The database is made as the tests make theirs (``jixiao.testing.create_test_database``): migrated as the owner,
the tenant trees loaded, the app connecting as the non-owner role ``jixiao_app`` so row-level security is in
force. The province generator (``jixiao_demo.province.generate``) fills the counties, as ``demo/benchmarks/
bench_generator.py`` does. The generator makes no users; the benchmark adds, as the owner, a finance user to
every generated bureau, one department user to each of its top-level departments (the scan's audience) and an
administrator-and-finance user to the province, and bearer tokens (stored as their SHA-256, as the product does)
for the users the HTTP paths run as.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

import sqlalchemy as sa

POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
PROVINCE = "430000"
#: The city the quick size fills (长沙市 and its counties), and the county whose finance user lists projects.
QUICK_CITY = "430100"
LIST_COUNTY = "430102"
#: The county the Excel import writes into (kept apart from the list's county so the list does not change).
IMPORT_COUNTY = "430103"
SECRET_KEY = "jixiao-bench-" + "0" * 32


@dataclasses.dataclass
class Province:
    """What every measurement needs: the scratch database, an app on it, and who to ask as."""

    database: Any
    app: Any
    folder: Path
    year: int
    bureaus: int
    projects: int
    county_code: str
    county_token: str
    province_token: str
    import_code: str
    users: dict[str, int]  # username → id of the users the paths run as
    city_token: str = ""  # 长沙市's finance user's (the city statistics); none when the city was not generated
    projects_per_county: int = 0
    generated: list[str] = dataclasses.field(default_factory=list)  # the codes of the generated bureaus

    @functools.cached_property
    def owner(self) -> sa.Engine:
        """The tables' owner (no row-level security): for setting up and taking back, never for what is timed."""
        return sa.create_engine(self.database.owner_url)

    def drop(self) -> None:
        from jixiao.testing import drop_test_database

        self.app.extensions["jixiao.db"].engine.dispose()
        self.owner.dispose()
        drop_test_database(self.database)


def build(projects_per_county: int, *, city: str | None, seed: int = 2026) -> Province:
    """Migrate a scratch database, load the tenant trees and generate the province (``city``: only that city and
    its counties); add the users and tokens. Prints what it made."""
    from jixiao.testing import create_test_database, make_app, prepare_database
    from jixiao_demo.province import generate

    os.environ["JIXIAO_TEST_DATABASE_URL"] = os.environ.get("JIXIAO_BENCH_DATABASE_URL", POSTGRES)
    folder = Path(tempfile.mkdtemp(prefix="jixiao-bench-"))
    database = create_test_database(folder)
    app = make_app(database, folder / "instance", REDIS_URL=None, SECRET_KEY=SECRET_KEY, TESTING=False)
    prepare_database(app, demo_data=False)
    only = None
    if city:
        with app.app_context():
            from jixiao.db import system_scope
            from jixiao.tenancy import service as tenancy

            with system_scope() as db:
                only = {t.code for t in tenancy.children(db, tenancy.get_by_code(db, city))} | {city}
    report = generate(app, PROVINCE, projects_per_county, seed, only=only)
    owner = sa.create_engine(database.owner_url)
    try:
        users = _add_users(owner)
        county_token = _add_token(owner, users[f"bench-{LIST_COUNTY}-finance"])
        province_token = _add_token(owner, users[f"bench-{PROVINCE}-finance"])
        city_user = users.get(f"bench-{QUICK_CITY}-finance")
        city_token = _add_token(owner, city_user) if city_user is not None else ""
        with owner.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    finally:
        owner.dispose()
    return Province(database=database, app=app, folder=folder, year=report.year, bureaus=len(report.generated),
                    projects=report.rows.get("projects", 0), county_code=LIST_COUNTY, county_token=county_token,
                    province_token=province_token, import_code=IMPORT_COUNTY, users=users, city_token=city_token,
                    projects_per_county=projects_per_county, generated=[t.code for t in report.generated])


def _add_users(owner: sa.Engine) -> dict[str, int]:
    """Finance and department users for every bureau with departments, and the province's; username → id."""
    from jixiao.accounts.models import User

    with owner.begin() as connection:
        bureaus = connection.execute(sa.text(
            "SELECT t.id, t.code, t.level FROM tenants t WHERE t.path LIKE (SELECT path FROM tenants WHERE code = :p) "
            "|| '%' AND (t.level = 'province' OR EXISTS (SELECT 1 FROM departments d WHERE d.tenant_id = t.id)) "
            "ORDER BY t.code"), {"p": PROVINCE}).all()
        departments = connection.execute(sa.text(
            "SELECT tenant_id, id, code FROM departments WHERE parent_id IS NULL ORDER BY tenant_id, code")).all()
        # One hash for all: nobody logs in with a password here (tokens only); the hash is never checked.
        password = "pbkdf2:sha256:1$bench$" + secrets.token_hex(16)
        rows: list[dict[str, Any]] = []
        for tenant_id, code, level in bureaus:
            roles = ["admin", "finance"] if level == "province" else ["finance"]
            rows.append({"tenant_id": tenant_id, "username": f"bench-{code}-finance", "display_name": f"{code} 绩效股",
                         "password_hash": password, "roles": roles})
        codes = {tenant_id: code for tenant_id, code, _level in bureaus}
        for tenant_id, department_id, department_code in departments:
            if tenant_id in codes:
                rows.append({"tenant_id": tenant_id, "username": f"bench-{codes[tenant_id]}-{department_code}",
                             "display_name": f"{department_code} 单位", "password_hash": password,
                             "roles": ["department"], "department_id": department_id})
        connection.execute(User.__table__.insert(), rows)
        found = connection.execute(sa.text("SELECT username, id FROM users WHERE username LIKE 'bench-%'")).all()
    return {username: user_id for username, user_id in found}


def _add_token(owner: sa.Engine, user_id: int) -> str:
    """A bearer token for the user, stored as the product stores one (its SHA-256 and prefix); the plain token."""
    from jixiao.accounts.models import ApiToken
    from jixiao.accounts.service import TOKEN_PREFIX, hash_token

    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with owner.begin() as connection:
        tenant_id = connection.execute(sa.text("SELECT tenant_id FROM users WHERE id = :u"), {"u": user_id}).scalar()
        connection.execute(ApiToken.__table__.insert(), [{"tenant_id": tenant_id, "user_id": user_id, "name": "benchmark",
                                                          "token_hash": hash_token(token), "prefix": token[:10]}])
    return token
