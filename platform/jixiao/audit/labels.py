"""Audit actions in words (``project.create`` → 新建项目), for every page that shows an audit event.

The action code stays what is stored, filtered on and exported (it is the audit log's stable key); people read
the label. A test (tests/test_words_not_codes.py) reads every action the core writes from its source and fails
when one has no label here, so a new action cannot reach a page as a code.
"""

from __future__ import annotations

ACTION_LABELS: dict[str, str] = {
    # Projects and their lifecycle
    "project.create": "新建项目",
    "project.update": "修改项目",
    "projects.import": "批量导入项目",
    "exante.record": "录入事前绩效评估",
    "targets.replace": "填报绩效目标",
    "targets.submit": "提交绩效目标",
    "targets.approve": "批复绩效目标",
    "targets.return": "退回绩效目标",
    "targets.publish": "公开绩效目标",
    "budget.approve": "批复预算",
    "monitoring.submit": "填报绩效监控",
    "monitoring.respond": "处理监控预警",
    "payment.suspend": "暂停拨款",
    "payment.resume": "恢复拨款",
    "agency.create": "登记第三方评价机构",
    "agency.update": "修改第三方评价机构",
    "agency.bar": "暂停委托第三方评价机构",
    "agency.unbar": "恢复委托第三方评价机构",
    "evaluation_plan.save": "制定重点评价计划",
    "evaluation.start": "启动单位自评",
    "evaluation.assign": "委托绩效评价",
    "evaluation.submit": "提交绩效评价",
    "evaluation.quality": "评价质量复核",
    "evaluation.publish": "公开评价结果",
    "evaluation.unpublish": "撤回公开评价结果",
    "sample.draw": "抽取再评价样本",
    "expert.create": "登记专家",
    "expert.update": "修改专家信息",
    "expert.draw": "抽取评审专家",
    "evidence.upload": "上传整改佐证",
    "evidence.remove": "删除整改佐证",
    "rectification.issue": "下达整改通知",
    "rectification.answer": "反馈整改情况",
    "rectification.verify": "核验整改情况",
    "rectification.return": "退回整改情况",
    "results.decide": "确定结果应用",
    "results.supersede": "结果应用被更权威的评价取代",
    # Assessment campaigns
    "assessment.create": "新建考核",
    "assessment.self_report": "提交自评材料",
    "assessment.evidence_for": "关联考核佐证",
    "assessment.score": "考核评分",
    "assessment.override": "调整考核得分",
    "assessment.force": "强制改变考核状态",
    "assessment.force_publish": "强制公布考核结果",
    "assessment.finalize": "考核定档",
    "assessment.publish": "公布考核结果",
    "assessment.reopen": "重新打开考核",
    "assessment.withdraw": "撤回考核结果",
    "assessment.appeal": "提出考核申诉",
    "assessment.appeal_answer": "答复考核申诉",
    # Files, jobs and the audit log itself
    "document.create": "生成文书",
    "job.enqueue": "提交后台任务",
    "audit.export": "导出审计日志",
    "audit.purge": "清理过期审计日志",
    # Tenants, departments, users and tokens
    "tenant.create": "新建财政部门",
    "tenant.update": "修改财政部门",
    "tenant.settings": "修改规则设置",
    "tenant.plugin_enable": "启用规则插件",
    "tenant.plugin_disable": "停用规则插件",
    "department.create": "新建部门",
    "department.update": "修改部门",
    "user.create": "新建用户",
    "user.update": "修改用户",
    "user.login": "登录",
    "user.logout": "退出登录",
    "user.login_failed": "登录失败",
    "user.login_refused_locked": "登录被拒（账户已锁定）",
    "user.login_refused_inactive": "登录被拒（账户已停用）",
    "user.locked": "账户锁定",
    "user.unlocked": "账户解锁",
    "user.password_change": "修改密码",
    "user.password_change_failed": "修改密码失败",
    "user.recovery_code_used": "使用恢复码登录",
    "user.second_factor_enrolled": "启用双因素认证",
    "user.second_factor_enrollment_started": "开始设置双因素认证",
    "user.second_factor_failed": "双因素认证失败",
    "user.second_factor_reset": "重置双因素认证",
    "user.sessions_revoked": "退出所有会话",
    "account.deactivate": "停用账户",
    "account.activate": "启用账户",
    "account.unlock": "解锁账户",
    "account.sign_out": "强制退出登录",
    "account.reset_second_factor": "重置双因素认证",
    "token.create": "创建 API 令牌",
    "token.revoke": "吊销 API 令牌",
    "token.revoke_all": "吊销全部 API 令牌",
}


def action_label(action: str) -> str:
    """``action`` in words; an action this table does not know (a plugin's own) is shown as it is stored."""
    return ACTION_LABELS.get(action, action)


#: What an audit event is about (its ``object_type``, the table of the record it changed), in words. A test
#: (tests/test_words_not_codes.py) fails when a table of the core has none here.
OBJECT_LABELS: dict[str, str] = {
    "projects": "项目",
    "exante_assessments": "事前绩效评估",
    "target_sets": "绩效目标",
    "indicators": "绩效指标",
    "monitoring_reports": "绩效监控报告",
    "monitoring_values": "监控指标完成值",
    "evaluations": "绩效评价",
    "evaluation_scores": "评价指标得分",
    "evaluation_plans": "重点评价计划",
    "evaluation_plan_lines": "重点评价计划项目",
    "sample_draws": "再评价抽样",
    "rectification_notices": "整改通知",
    "evidence_files": "佐证材料",
    "result_applications": "结果应用",
    "result_decisions": "结果应用决定",
    "agencies": "第三方评价机构",
    "experts": "专家",
    "expert_draws": "专家抽取",
    "assessment_campaigns": "考核",
    "assessment_subjects": "被考核对象",
    "assessment_scores": "考核得分",
    "assessment_assignments": "考核自评",
    "assessment_appeals": "考核申诉",
    "documents": "文书",
    "jobs": "后台任务",
    "notifications": "通知",
    "notification_deliveries": "通知发送记录",
    "audit_events": "审计日志",
    "tenants": "财政部门",
    "departments": "部门",
    "users": "用户",
    "api_tokens": "API 令牌",
    "login_failures": "登录失败记录",
    "idempotency_keys": "重复请求保护记录",
}


def object_label(object_type: str) -> str:
    """``object_type`` in words; a table this module does not know (a plugin's own) is shown as it is stored."""
    return OBJECT_LABELS.get(object_type, object_type)
