"""The accounts feature, registered like any plugin: sign-in pages and the account API."""

from __future__ import annotations

from typing import Any

from jixiao import hookimpl
from jixiao.accounts import api, commands, views


@hookimpl
def register_blueprints() -> list[Any]:
    return [views.bp]


@hookimpl
def register_api_blueprints() -> list[Any]:
    return [api.blp]


@hookimpl
def register_commands() -> list[Any]:
    return [commands.users_group, commands.tokens_group]
