"""Job kinds that ship with the core."""

from __future__ import annotations

import time
from typing import Any

from jixiao.jobs.service import JobContext, TransientJobError, job_kind


def _selfcheck_done(result: dict[str, Any]) -> str:
    return f"自检完成：共 {result.get('steps', 0)} 步，第 {result.get('attempts', 1)} 次尝试成功"


@job_kind("system.selfcheck", label="后台任务自检", queue="interactive", max_attempts=3, describe=_selfcheck_done)
def selfcheck(ctx: JobContext, steps: int = 5, sleep: float = 0.0, fail_times: int = 0) -> dict[str, Any]:
    """Operators check the workers with it (``jixiao jobs selfcheck``): reports progress step by step, and can
    fail its first ``fail_times`` attempts with a transient error to show that retries work."""
    if ctx.attempt <= fail_times:
        raise TransientJobError(f"自检模拟的暂时性故障（第 {ctx.attempt} 次）")
    for step in range(1, steps + 1):
        time.sleep(sleep)
        ctx.progress(step * 100 // steps, f"自检第 {step}/{steps} 步")
    return {"steps": steps, "attempts": ctx.attempt}
