from jixiao.db import system_scope
from jixiao.plugins import host
from jixiao.tenancy import service as tenancy


def test_hook_tenant_default_settings(jixiao_app):
    with jixiao_app.app_context(), system_scope() as db:
        biangba = tenancy.effective_settings(db, host(), tenancy.get_by_code(db, "540330"))
        lingling = tenancy.effective_settings(db, host(), tenancy.get_by_code(db, "431102"))
    assert biangba["monitoring.months_by_kind"]["department_whole"] == [6]
    assert "monitoring.months_by_kind" not in lingling


def test_discovered(jixiao_app):
    infos = {i.name: i for i in jixiao_app.extensions["jixiao.plugins"].info()}
    assert infos["xizang"].distribution == "jixiao-xizang"
