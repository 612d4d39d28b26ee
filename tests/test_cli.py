"""The jixiao command."""

from __future__ import annotations

import pytest

from jixiao.cli import main
from jixiao.testing import DEMO_PASSWORD, api_login, unique


def test_users_create_reads_the_password_from_stdin(app):
    username = unique("cli")
    result = app.test_cli_runner().invoke(
        main, ["users", "create", "--tenant", "431102", "--username", username, "--role", "department",
               "--department", "101"], input="cli-password-1\n")
    assert result.exit_code == 0, result.output
    assert api_login(app, username, "cli-password-1").user["department"]["code"] == "101"


def test_usernames_are_unique_across_tenants(app):
    result = app.test_cli_runner().invoke(
        main, ["users", "create", "--tenant", "430903", "--username", "lingling_finance", "--role", "viewer"],
        input=DEMO_PASSWORD + "\n")
    assert result.exit_code == 1
    assert "已被使用" in result.output


def test_users_create_names_the_wrong_field(app):
    result = app.test_cli_runner().invoke(
        main, ["users", "create", "--tenant", "431102", "--username", unique("c"), "--role", "department"],
        input="cli-password-1\n")
    assert result.exit_code == 1 and "department" in result.output


def test_tokens_create_prints_a_working_token(app):
    result = app.test_cli_runner().invoke(main, ["tokens", "create", "--username", "heshan_finance"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    response = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.get_json()["username"] == "heshan_finance"


def test_tenants_tree_prints_the_subtree(app):
    result = app.test_cli_runner().invoke(main, ["tenants", "tree", "430900"])
    assert result.exit_code == 0
    assert "430903 赫山区 (区)" in result.output
    assert "430400" not in result.output


def test_tenants_load_reports_unchanged_on_a_second_run(app):
    result = app.test_cli_runner().invoke(main, ["tenants", "load", app.config["TENANTS_PATH"] + "/sichuan.yaml"])
    assert result.exit_code == 0, result.output
    assert "created 0, updated 0" in result.output



def test_worker_without_redis_explains_that_jobs_run_in_process(app):
    from tests.test_audit_and_api import make_app_like

    embedded = make_app_like(app, REDIS_URL=None)
    result = embedded.test_cli_runner().invoke(main, ["worker", "--burst"])
    assert result.exit_code == 1 and "JIXIAO_REDIS_URL" in result.output


def test_worker_drains_the_queues_of_a_real_redis(app):
    if not app.config["REDIS_URL"]:
        pytest.skip("no JIXIAO_TEST_REDIS_URL: CI runs this against Redis")
    result = app.test_cli_runner().invoke(main, ["worker", "--burst", "--queues", "interactive"])
    assert result.exit_code == 0, result.output


def test_plugins_new_scaffolds_a_package_whose_test_passes(tmp_path):
    import subprocess
    import sys

    from click.testing import CliRunner

    result = CliRunner().invoke(main, ["plugins", "new", "guangxi", "--into", str(tmp_path)])
    assert result.exit_code == 0, result.output
    package = tmp_path / "guangxi"
    assert (package / "pyproject.toml").read_text().count('guangxi = "jixiao_guangxi"') == 1
    assert (package / "jixiao_guangxi" / "data" / "settings.yaml").exists()
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "tests"], cwd=package, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout
    again = CliRunner().invoke(main, ["plugins", "new", "guangxi", "--into", str(tmp_path)])
    assert again.exit_code == 1 and "already exists" in again.output


def test_users_create_binds_an_evaluator_to_a_registered_agency(app):
    from jixiao.accounts.models import User
    from jixiao.db import TenantScope, scoped

    finance = api_login(app, "lingling_finance")
    agency = finance.get("/api/v1/tenants/431102/agencies").get_json()[0]
    username = unique("ev")
    made = app.test_cli_runner().invoke(
        main, ["users", "create", "--tenant", "431102", "--username", username, "--role", "evaluator",
               "--agency", agency["name"]], input="cli-password-1\n")
    assert made.exit_code == 0, made.output
    with app.app_context(), scoped(TenantScope(login_username=username)) as db:
        assert db.query(User).filter_by(username=username).one().agency_id == agency["id"]

    unbound = app.test_cli_runner().invoke(
        main, ["users", "create", "--tenant", "431102", "--username", unique("ev"), "--role", "evaluator"],
        input="cli-password-1\n")
    assert unbound.exit_code == 1 and "--agency" in unbound.output
    unknown = app.test_cli_runner().invoke(
        main, ["users", "create", "--tenant", "431102", "--username", unique("ev"), "--role", "evaluator",
               "--agency", "不存在的机构"], input="cli-password-1\n")
    assert unknown.exit_code == 1 and agency["name"] in unknown.output


def test_plugins_explain_shows_who_answers_in_order(app):
    result = app.test_cli_runner().invoke(main, ["plugins", "explain", "430405", "tenant_default_settings"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "tenant_default_settings for 430405 (every answer is collected):"
    # The national defaults are declared (declare_settings), not answered: only Hunan contributes.
    assert [line.split(":")[0].strip() for line in lines[1:]] == ["hunan"]
    assert all(line.endswith("<- contributes") for line in lines[1:])

    bands = app.test_cli_runner().invoke(main, ["plugins", "explain", "430405", "evaluation_grade_bands",
                                                "--arg", "kind=finance"])
    assert bands.exit_code == 0, bands.output
    assert bands.output.splitlines()[-1].startswith("  national: [[") and bands.output.rstrip().endswith("<- answers")

    missing = app.test_cli_runner().invoke(main, ["plugins", "explain", "430405", "evaluation_grade_bands"])
    assert missing.exit_code == 1 and "kind" in missing.output
    unknown = app.test_cli_runner().invoke(main, ["plugins", "explain", "430405", "no_such_hook"])
    assert unknown.exit_code == 1 and "no_such_hook" in unknown.output


def test_plugins_before_migrations_says_what_to_do(tmp_path):
    from jixiao.app import create_app

    fresh = create_app({"TESTING": True, "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path),
                        "DATABASE_URL": f"sqlite:///{tmp_path / 'new.sqlite3'}", "REDIS_URL": None})
    result = fresh.test_cli_runner().invoke(main, ["plugins"])
    assert result.exit_code == 0, result.output
    assert "jixiao db upgrade" in result.output and "Traceback" not in result.output
    assert "national" in result.output and "(unknown until migrated)" in result.output
