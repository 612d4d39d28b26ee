from jixiao.db import system_scope
from jixiao.plugins import host
from jixiao.tenancy import service as tenancy


def test_hook_tenant_default_settings(jixiao_app):
    with jixiao_app.app_context(), system_scope() as db:
        hengyang = tenancy.effective_settings(db, host(), tenancy.get_by_code(db, "430400"))
        enyang = tenancy.effective_settings(db, host(), tenancy.get_by_code(db, "511903"))
    assert hengyang["assessment.reward_min_score.district"] == 70
    assert hengyang["assessment.reward_min_score.county"] == 80
    assert "assessment.reward_min_score.district" not in enyang


def test_discovered_with_version(jixiao_app):
    infos = {i.name: i for i in jixiao_app.extensions["jixiao.plugins"].info()}
    assert infos["hunan"].distribution == "jixiao-hunan"
    assert "tenant_default_settings" in infos["hunan"].hooks
