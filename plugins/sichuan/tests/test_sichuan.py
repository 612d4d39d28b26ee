from jixiao.db import system_scope
from jixiao.plugins import host
from jixiao.tenancy import service as tenancy


def test_hook_tenant_default_settings(jixiao_app):
    with jixiao_app.app_context(), system_scope() as db:
        enyang = tenancy.effective_settings(db, host(), tenancy.get_by_code(db, "511903"))
        heshan = tenancy.effective_settings(db, host(), tenancy.get_by_code(db, "430903"))
    assert enyang["exante.threshold_yuan"] == "500000.00"
    # A Sichuan rule never answers for a Hunan district.
    assert "exante.threshold_yuan" not in heshan


def test_discovered(jixiao_app):
    infos = {i.name: i for i in jixiao_app.extensions["jixiao.plugins"].info()}
    assert infos["sichuan"].distribution == "jixiao-sichuan"
