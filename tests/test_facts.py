"""One set of lifecycle facts: an assessment's computed score and the statistics' league table count the same
records the same way (filed targets, monitored units, self-evaluated units)."""

from __future__ import annotations

import pytest

from jixiao.testing import api_login

#: league column → the assessment metric measuring the same ratio.
SAME_RATIO = {"targets": "targets_units", "monitoring": "monitoring_units", "self_evaluation": "self_evaluation_units"}


@pytest.mark.parametrize("column", sorted(SAME_RATIO))
def test_the_league_and_the_assessment_metric_count_the_same(app, create_user, column):
    from jixiao import units
    from jixiao.assessment import metrics
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.tenancy import service as tenancy

    year = units.local_today().year  # the demo's year
    city_finance = api_login(app, create_user("431100", roles=["finance"]))
    table = city_finance.get(f"/api/v1/tenants/431100/statistics/league?year={year}").get_json()
    cell = next(row for row in table["rows"] if row["code"] == "431102")["current"][column]
    with app.app_context():
        with system_scope() as db:
            lingling = tenancy.get_by_code(db, "431102")
        with scoped(TenantScope(read_ids=(lingling.id,))) as db:
            measured = metrics.compute(db, SAME_RATIO[column],
                                       metrics.Subjects(by="tenant", ids=(lingling.id,), year=year))
    numerator, denominator = measured[lingling.id]
    assert denominator > 0  # the demo bureau owes something, so the comparison means something
    assert (int(cell["numerator"]), int(cell["denominator"])) == (int(numerator), int(denominator))
