"""National rules (全国通用规则): the defaults every tenant starts from.

Registered first, so that a regional plugin answering the same ``firstresult`` hook is asked before it.
"""

from __future__ import annotations

from typing import Any

from jixiao import hookimpl


@hookimpl
def tenant_default_settings(tenant: Any) -> dict[str, Any]:
    return {
        # The months a project owes a monitoring report (双监控); every month by default.
        "monitoring.months": list(range(1, 13)),
        # Ex-ante assessment (事前绩效评估) is owed by new projects of these kinds.
        "exante.required_kinds": ["project", "policy"],
        # Grade bands for evaluations (national default 优 ≥ 90, 良 80–89, 中 60–79, 差 < 60).
        "evaluation.grade_bands": [["优", 90], ["良", 80], ["中", 60], ["差", 0]],
    }
