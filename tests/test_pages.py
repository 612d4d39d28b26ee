"""The Chinese pages: login, the tenant's home, and the administrator's users and departments."""

from __future__ import annotations

import re

import pytest

from jixiao.testing import DEMO_PASSWORD, unique


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the form"
    return match.group(1)


def page_login(client, username: str, password: str = DEMO_PASSWORD):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def test_login_page_is_in_chinese(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'lang="zh-CN"' in html and "用户名" in html and "密码" in html and "登录" in html


def test_form_login_then_home_page(client):
    response = page_login(client, "lingling_finance")
    assert response.status_code == 302
    home = client.get("/", follow_redirects=True)
    html = home.get_data(as_text=True)
    assert home.request.path == "/t/431102/"
    assert "零陵区" in html and "永州市" in html  # the tenant and its parent
    assert "财政绩效人员" in html  # the user's role
    assert "hunan" in html and "继承自" in html and "湖南省" in html  # plugin and where it comes from


def test_wrong_password_on_the_form_says_so_in_chinese(client):
    response = page_login(client, "lingling_finance", "wrong-password")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)


def test_form_without_csrf_token_is_refused(client):
    response = client.post("/login", data={"username": "lingling_finance", "password": DEMO_PASSWORD})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


def test_anonymous_page_redirects_to_login(client):
    response = client.get("/t/431102/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_city_home_links_children_to_their_read_only_pages(client):
    page_login(client, "yongzhou_finance")
    html = client.get("/t/431100/").get_data(as_text=True)
    assert 'href="/t/431102/"' in html
    child = client.get("/t/431102/").get_data(as_text=True)
    assert "只能查看" in child


def test_a_county_home_and_a_units_home_leave_out_the_subordinates_block(app, client, create_user):
    from jixiao.accounts import service
    from jixiao.db import TenantScope, scoped, system_scope
    from jixiao.tenancy import service as tenancy

    page_login(client, "lingling_finance")
    county = client.get("/t/431102/").get_data(as_text=True)
    assert "零陵区" in county and "下级财政部门（" not in county and "没有下级财政部门" not in county
    # A budget unit of a city (which has counties) is not shown them either; the city's finance is.
    code = unique("PD")[-10:]
    with app.app_context():
        with system_scope() as db:
            city = tenancy.get_by_code(db, "431100")
        with scoped(TenantScope(read_ids=(city.id,), write_id=city.id)) as db:
            service.create_department(db, None, city, code=code, name="市属单位")
    unit = app.test_client()
    page_login(unit, create_user("431100", roles=["department"], department_code=code))
    home = unit.get("/t/431100/").get_data(as_text=True)
    assert "永州市" in home and "下级财政部门（" not in home and 'href="/t/431102/"' not in home
    finance = app.test_client()
    page_login(finance, "yongzhou_finance")
    assert "下级财政部门（" in finance.get("/t/431100/").get_data(as_text=True)


def test_sibling_page_is_404(client):
    page_login(client, "lingling_finance")
    assert client.get("/t/430903/").status_code == 404


def test_admin_creates_a_department_and_a_user_from_the_pages(client):
    page_login(client, "lingling_admin")
    html = client.get("/t/431102/departments").get_data(as_text=True)
    code = unique("D")[-8:]
    response = client.post("/t/431102/departments", data={"code": code, "name": "页面部门", "csrf_token": csrf_from(html)})
    assert response.status_code == 302
    assert "页面部门" in client.get("/t/431102/departments").get_data(as_text=True)

    html = client.get("/t/431102/users").get_data(as_text=True)
    username = unique("page")
    response = client.post("/t/431102/users", data={
        "username": username, "password": DEMO_PASSWORD, "display_name": "页面用户",
        "roles": ["department"], "department_code": code, "csrf_token": csrf_from(html)})
    assert response.status_code == 302
    assert username in client.get("/t/431102/users").get_data(as_text=True)


def test_user_form_errors_name_the_field_in_chinese(client):
    page_login(client, "lingling_admin")
    html = client.get("/t/431102/users").get_data(as_text=True)
    response = client.post("/t/431102/users", data={
        "username": unique("nodept"), "password": DEMO_PASSWORD, "roles": ["department"],
        "csrf_token": csrf_from(html)})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "必须属于一个部门" in body


@pytest.mark.parametrize("username", ["lingling_finance", "yongzhou_finance"])
def test_non_admins_see_no_management_forms(client, username):
    page_login(client, username)
    html = client.get("/t/431102/users").get_data(as_text=True)
    assert "新建用户" not in html


def test_user_page_shows_history(client):
    page_login(client, "lingling_admin")
    html = client.get("/t/431102/users").get_data(as_text=True)
    user_id = re.search(r'href="/t/431102/users/(\d+)"', html).group(1)
    detail = client.get(f"/t/431102/users/{user_id}").get_data(as_text=True)
    # The history says the action in words (the audit action's label), never its code.
    assert "变更记录" in detail and "新建用户" in detail and "user.create" not in detail


def test_tokens_page_shows_a_new_token_once(client):
    page_login(client, "lingling_auditor")
    html = client.get("/account/tokens").get_data(as_text=True)
    created = client.post("/account/tokens", data={"name": "页面令牌", "csrf_token": csrf_from(html)})
    body = created.get_data(as_text=True)
    token = re.search(r'<code id="new-token">(jx_[^<]+)</code>', body).group(1)
    assert token not in client.get("/account/tokens").get_data(as_text=True)


def test_operator_sees_plugins_and_tree(client):
    page_login(client, "operator_system")
    html = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert "已安装的插件" in html and "<code>430000</code> 湖南省" in html
    tree = html.split('<ul class="tree plain">')[1].split("</ul>")[0]
    assert "[plugins:" not in tree  # plugins by their display names, the code in the title


def test_admin_renames_a_department_from_its_page(client):
    page_login(client, "lingling_admin")
    html = client.get("/t/431102/departments").get_data(as_text=True)
    code = unique("R")[-8:]
    client.post("/t/431102/departments", data={"code": code, "name": "改名前", "csrf_token": csrf_from(html)})
    listing = client.get("/t/431102/departments").get_data(as_text=True)
    department_id = re.search(r'href="/t/431102/departments/(\d+)">改名前', listing).group(1)
    form = client.get(f"/t/431102/departments/{department_id}").get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', form).group(1)
    saved = client.post(f"/t/431102/departments/{department_id}", data={
        "name": "改名后", "active": "on", "version": version, "csrf_token": csrf_from(form)})
    assert saved.status_code == 302
    detail = client.get(f"/t/431102/departments/{department_id}").get_data(as_text=True)
    assert "改名后" in detail and "修改部门" in detail and "department.update" not in detail
