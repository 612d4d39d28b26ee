"""A bearer token's "last used" time is recorded at most once a minute (jixiao.accounts.service.touch_token).

It tells a token's owner whether the token is still in use; the record of what a token did is the audit log.
Writing it on every request put an UPDATE into every read: within a minute of the last record a request writes
nothing, and the value the tokens API shows is still the time of that record.
"""

from __future__ import annotations

from datetime import datetime

from jixiao.testing import api_login, unique
from tests.accounts_clock import clock_fixture  # noqa: F401 - the clock fixture
from tests.test_query_budget import count_statements

PATH = "/api/v1/tenants/431102/projects?per_page=5"


def token_updates(statements: list[str]) -> int:
    return sum(1 for statement in statements if statement.lstrip().upper().startswith("UPDATE API_TOKENS"))


def last_used(owner, token_id: int) -> datetime | None:
    listed = {token["id"]: token for token in owner.get("/api/v1/auth/tokens").get_json()}
    value = listed[token_id]["last_used_at"]
    return datetime.fromisoformat(value) if value else None


def test_a_token_records_its_use_once_a_minute(app, clock):
    owner = api_login(app, "lingling_finance")
    made = owner.post("/api/v1/auth/tokens", json={"name": unique("数据报送接口")}).get_json()
    bearer = {"Authorization": f"Bearer {made['token']}"}
    machine = app.test_client()
    assert last_used(owner, made["id"]) is None

    def request() -> tuple[int, int]:
        with count_statements(app) as statements:
            assert machine.get(PATH, headers=bearer).status_code == 200
        return token_updates(statements), len(statements)

    first_updates, first_total = request()
    recorded = clock.now
    assert last_used(owner, made["id"]) == recorded
    clock.advance(seconds=30)
    second_updates, second_total = request()
    assert (first_updates, second_updates) == (1, 0)
    # Nothing else changed between the two: the second request is the first without its UPDATE.
    assert second_total < first_total
    assert last_used(owner, made["id"]) == recorded

    clock.advance(seconds=31)  # a minute and a second after the record
    assert request()[0] == 1
    assert last_used(owner, made["id"]) == clock.now


def test_a_refused_token_records_nothing(app, clock):
    owner = api_login(app, "lingling_finance")
    made = owner.post("/api/v1/auth/tokens", json={"name": unique("已撤销的接口")}).get_json()
    assert owner.delete(f"/api/v1/auth/tokens/{made['id']}").status_code in (200, 204)
    with count_statements(app) as statements:
        answer = app.test_client().get(PATH, headers={"Authorization": f"Bearer {made['token']}"})
    assert answer.status_code == 401
    assert token_updates(statements) == 0
    assert last_used(owner, made["id"]) is None
