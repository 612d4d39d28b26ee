"""Tenancy: the tenant tree, inheritance of plugins and settings, the access rule, and loading trees from YAML."""

from __future__ import annotations

import dataclasses
import difflib
import enum
import functools
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy.orm import Session, aliased

from jixiao import audit, inputs
from jixiao.db import platform_write
from jixiao.errors import Conflict, Forbidden, NotFound, ValidationFailed
from jixiao.plugins import NATIONAL, DeclaredSetting, PluginHost
from jixiao.system import duties
from jixiao.tenancy import divisions
from jixiao.tenancy.models import Tenant, TenantLevel
from jixiao.toolkit import SettingError, TenantView


class Relation(enum.StrEnum):
    SELF = "self"
    DESCENDANT = "descendant"
    ANCESTOR = "ancestor"
    UNRELATED = "unrelated"


def relation(user_tenant: Tenant | None, tenant: Tenant) -> Relation:
    if user_tenant is None:
        return Relation.UNRELATED
    if tenant.id == user_tenant.id:
        return Relation.SELF
    if tenant.path.startswith(user_tenant.path):
        return Relation.DESCENDANT
    if user_tenant.path.startswith(tenant.path):
        return Relation.ANCESTOR
    return Relation.UNRELATED


def get_by_code(session: Session, code: str) -> Tenant | None:
    return session.scalar(sa.select(Tenant).where(Tenant.code == code))


def resolve(session: Session, user: Any, code: str, *, write: bool) -> Tenant:
    """The tenant ``code`` if ``user`` may read it (or write it, with ``write``).

    Siblings and other branches answer 404 as if they did not exist; an ancestor is known to the user but
    not theirs (403); a descendant may be read but not written (403).
    """
    own = getattr(user, "tenant", None)
    # The user's own bureau is loaded with the user: most requests name it, and need no statement to find it.
    tenant = own if own is not None and own.code == code else get_by_code(session, code)
    if tenant is None or user is None or own is None:
        raise NotFound("未找到该财政部门，或您无权查看")
    rel = relation(user.tenant, tenant)
    if rel is Relation.UNRELATED:
        raise NotFound("未找到该财政部门，或您无权查看")
    if rel is Relation.ANCESTOR:
        raise Forbidden("上级财政部门的数据不在您的权限范围内")
    if write and rel is Relation.DESCENDANT:
        raise Forbidden("您只能修改本级财政部门的数据；下级的数据只读")
    return tenant


def subtree_ids(session: Session, tenant: Tenant) -> list[int]:
    return list(session.scalars(sa.select(Tenant.id).where(Tenant.path.startswith(tenant.path))))


def subtree_ids_column(session: Session) -> Any:
    """The ids of the subtree of the statement's ``Tenant`` (the bureau it joins), as one value per row:
    authentication reads a principal and its readable tenants in one statement. Read the value with
    :func:`ids_of`."""
    return _subtree_column(session.get_bind().dialect.name == "postgresql")


@functools.lru_cache(maxsize=2)
def _subtree_column(postgres: bool) -> Any:
    # Built once per dialect: an alias and an aggregate cost more to construct than the read to run.
    below = aliased(Tenant)
    collected = sa.func.array_agg(below.id) if postgres else sa.func.group_concat(below.id)
    return sa.select(collected).where(below.path.startswith(Tenant.path)).scalar_subquery()


def ids_of(value: Any) -> tuple[int, ...]:
    """A :func:`subtree_ids_column` value as sorted ids (an array on PostgreSQL, ``"1,2,3"`` on SQLite)."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.split(",")
    return tuple(sorted(int(i) for i in value))


def ancestors(session: Session, tenant: Tenant) -> list[Tenant]:
    """Root first."""
    codes = tenant.ancestor_codes
    if not codes:
        return []
    found = {t.code: t for t in session.scalars(sa.select(Tenant).where(Tenant.code.in_(codes)))}
    return [found[c] for c in codes if c in found]


def children(session: Session, tenant: Tenant) -> list[Tenant]:
    return list(session.scalars(sa.select(Tenant).where(Tenant.parent_id == tenant.id).order_by(Tenant.code)))


def visible_tenants(session: Session, user: Any) -> list[Tenant]:
    """A user's own tenant and its descendants; every tenant for the system administrator (三员分立)."""
    if getattr(user, "is_operator", False):
        duties.require_system_administrator(user)
        return list(session.scalars(sa.select(Tenant).order_by(Tenant.path)))
    if user is None or getattr(user, "tenant", None) is None:
        return []
    stmt = sa.select(Tenant).where(Tenant.path.startswith(user.tenant.path)).order_by(Tenant.path)
    return list(session.scalars(stmt))


@dataclasses.dataclass(frozen=True)
class PluginInForce:
    name: str
    source_code: str
    source_name: str
    inherited: bool
    installed: bool


def plugins_in_force(session: Session, host: PluginHost, tenant: Tenant) -> list[PluginInForce]:
    """The plugins answering for ``tenant``, each with the tenant whose YAML enabled it."""
    return _plugins_in_chain(host, tenant, [*ancestors(session, tenant), tenant])


def _chain_groups(chain: list[Tenant]) -> list[tuple[Tenant, list[str]]]:
    """Each holder of ``chain`` (root first) with the plugins it brings in force: its own list, after an
    operator's overlay; a plugin an operator disabled on a holder is out of force from there down, whatever an
    ancestor enables (a descendant may enable it again)."""
    groups: list[tuple[Tenant, list[str]]] = []
    for holder in chain:
        blocked = set(holder.plugins_disabled or [])
        groups = [(earlier, [name for name in names if name not in blocked]) for earlier, names in groups]
        groups.append((holder, holder.plugins_in_force))
    return groups


def _plugins_in_chain(host: PluginHost, tenant: Tenant, chain: list[Tenant]) -> list[PluginInForce]:
    result: dict[str, PluginInForce] = {
        NATIONAL: PluginInForce(NATIONAL, "", "全国（内置）", inherited=True, installed=True)
    }
    for holder, names in _chain_groups(chain):
        for name in names:
            if name not in result:
                result[name] = PluginInForce(
                    name, holder.code, holder.name, holder.id != tenant.id, host.is_installed(name)
                )
    return list(result.values())


def precedence(host: PluginHost, chain: list[Tenant]) -> tuple[str, ...]:
    """The installed plugins in force along ``chain`` (root first), most specific first: the tenant's own in
    their YAML order, then its parent's, up to the root's; national, always in force, answers last."""
    ordered = dict.fromkeys(name for _holder, names in reversed(_chain_groups(chain)) for name in names)
    return tuple(name for name in ordered if name != NATIONAL and host.is_installed(name)) + (NATIONAL,)


def yaml_settings(session: Session, tenant: Tenant, chain: list[Tenant] | None = None) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for holder in chain if chain is not None else [*ancestors(session, tenant), tenant]:
        merged.update(holder.settings or {})
    return merged


def view(session: Session, host: PluginHost, tenant: Tenant, chain: list[Tenant] | None = None) -> TenantView:
    """The tenant as hooks see it: its plugins in force and its effective settings.

    ``chain`` (root first, ending with ``tenant``) spares the ancestors' lookup to a caller that already holds
    them, e.g. one asking the rules of every tenant of a subtree loaded in one statement.
    """
    chain = chain if chain is not None else [*ancestors(session, tenant), tenant]
    plugins = precedence(host, chain)
    merged: dict[str, Any] = {}
    for layer in _settings_layers(host, tenant, chain, plugins):
        merged.update(layer.values)
    return TenantView.build(tenant, plugins, merged)


def effective_settings(session: Session, host: PluginHost, tenant: Tenant) -> dict[str, Any]:
    """Declared defaults, then plugin defaults (national, then regional), overlaid by the YAML settings
    (ancestors, then own)."""
    return dict(view(session, host, tenant).settings)


@dataclasses.dataclass(frozen=True)
class _Layer:
    source: str  # "default" (a declaration), "plugin" (a tenant_default_settings answer) or "tenant" (its YAML)
    name: str  # the plugin, or the tenant's code
    values: Mapping[str, Any]


def _settings_layers(host: PluginHost, tenant: Tenant, chain: list[Tenant], plugins: tuple[str, ...]) -> list[_Layer]:
    """Where a tenant's settings come from, in the order they are laid over each other (the last one wins): the
    defaults declared by the plugins in force, their ``tenant_default_settings`` answers (national first, the
    nearest tenant's plugin last), then the settings written on each tenant of ``chain`` (root first)."""
    layers = [_Layer("default", name, values) for name, values in host.setting_defaults(plugins)]
    # tenant_default_settings sees the written settings only (never the defaults being worked out).
    written = {key: value for holder in chain for key, value in (holder.settings or {}).items()}
    bare = TenantView.build(tenant, plugins, written)
    # Answers come most specific first; reversed, the national defaults come first and the nearest tenant wins.
    answers = host.hook("tenant_default_settings", plugins).explain(tenant=bare)
    layers += [_Layer("plugin", name, answer) for name, answer in reversed(answers) if answer]
    layers += [_Layer("tenant", holder.code, holder.settings or {}) for holder in chain]
    return layers


@dataclasses.dataclass(frozen=True)
class SettingState:
    """One setting of a tenant as its settings page shows it: the value in force and where it comes from."""

    key: str
    value: Any
    #: ``default`` (the declaration), ``plugin`` (a plugin's tenant_default_settings), ``tenant`` (the settings
    #: written on a tenant: its YAML or its administrator's change), or ``""`` when nothing gives a value.
    source: str
    source_name: str  # the plugin, or the tenant's code
    source_label: str  # in Chinese
    own: bool  # written on this tenant itself (what its administrator may clear)
    declared: DeclaredSetting | None  # None: a key no installed plugin declares (written before it was declared)
    in_force: bool  # the declaring plugin is in force for this tenant


def explained_settings(session: Session, host: PluginHost, tenant: Tenant) -> list[SettingState]:
    """Every setting declared by a plugin in force for ``tenant``, and any other key it has a value for, by key:
    its value and where the value comes from (what the settings page and ``…/settings/declared`` show)."""
    chain = [*ancestors(session, tenant), tenant]
    plugins = precedence(host, chain)
    in_force = {NATIONAL, *host.core_names, *plugins}
    holders = {holder.code: holder for holder in chain}
    found: dict[str, tuple[Any, _Layer | None]] = {}
    for laid in _settings_layers(host, tenant, chain, plugins):
        found.update({key: (value, laid) for key, value in laid.values.items()})
    keys = sorted({*(key for key, d in host.settings.items() if d.plugin in in_force), *found})
    states = []
    for key in keys:
        declared = host.settings.get(key)
        value, layer = found.get(key, (None, None))
        states.append(SettingState(
            key=key, value=value, source=layer.source if layer else "", source_name=layer.name if layer else "",
            source_label=_source_label(host, layer, holders, tenant), own=bool(layer and layer.source == "tenant"
                                                                         and layer.name == tenant.code),
            declared=declared, in_force=declared is not None and declared.plugin in in_force))
    return states


def _source_label(host: PluginHost, layer: _Layer | None, holders: dict[str, Tenant], tenant: Tenant) -> str:
    if layer is None:
        return "未设置（无默认值）"
    # A plugin by its display name, its code beside it as the other pages show it (a core feature has no name).
    named = layer.name if host.display_name(layer.name) == layer.name else f"{host.display_name(layer.name)} {layer.name}"
    if layer.source == "default":
        return f"默认值（{named} 声明）"
    if layer.source == "plugin":
        return f"插件 {named} 的默认设置"
    holder = holders[layer.name]
    return "本级设置" if holder.id == tenant.id else f"继承自 {holder.name}（{holder.code}）的设置"


def check_settings(host: PluginHost, values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """``values`` normalised by their declarations, and the keys refused with why (Chinese, naming the key).

    A key declared by any installed plugin is accepted, whether or not that plugin is in force for the tenant
    (a bureau may write a setting before its plugin is enabled, and the value is checked all the same); a key no
    installed plugin declares is refused, so a misspelt key is never kept silently.
    """
    normalised: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for raw_key, value in values.items():
        key = str(raw_key)
        declared = host.settings.get(key)
        if declared is None:
            close = difflib.get_close_matches(key, list(host.settings), n=1, cutoff=0.75)
            hint = f"，是否应为 {close[0]}" if close else ""
            problems[key] = f"设置 {key} 没有任何已安装的插件声明，平台不认识它{hint}（全部设置见本级的“设置”页）"
            continue
        try:
            normalised[key] = declared.setting.parse(value)
        except SettingError as refused:
            problems[key] = refused.message
    return normalised, problems


# ---- Loading trees from YAML --------------------------------------------------------------------------------


@dataclasses.dataclass
class LoadReport:
    created: list[str] = dataclasses.field(default_factory=list)
    updated: dict[str, dict[str, list[Any]]] = dataclasses.field(default_factory=dict)
    unchanged: int = 0
    missing_plugins: dict[str, list[str]] = dataclasses.field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [f"created {len(self.created)}, updated {len(self.updated)}, unchanged {self.unchanged}"]
        out += [f"  + {code}" for code in self.created[:20]]
        if len(self.created) > 20:
            out.append(f"  ... and {len(self.created) - 20} more")
        for code, changes in self.updated.items():
            for field, (before, after) in changes.items():
                out.append(f"  ~ {code} {field}: {before!r} -> {after!r}")
        for code, names in self.missing_plugins.items():
            out.append(
                f"  ! {code} enables plugin(s) that are not installed: {', '.join(names)} "
                "(install the package, or remove the name from the YAML)"
            )
        return out


@dataclasses.dataclass
class _Entry:
    code: str
    name: str
    division_type: str
    level: TenantLevel
    parent_code: str | None
    plugins: list[str]
    settings: dict[str, Any]
    source: str


def _parse(path: Path, host: PluginHost) -> list[_Entry]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValidationFailed(f"无法读取租户文件 {path}: {exc}", fields={"path": str(path)}) from exc
    if not isinstance(document, dict):
        raise ValidationFailed(f"租户文件 {path} 的顶层应是一个财政部门", fields={"path": str(path)})
    entries: list[_Entry] = []
    errors: dict[str, str] = {}

    def walk(node: Any, parent: str | None, trail: str) -> None:
        if not isinstance(node, dict) or "code" not in node:
            errors[trail] = "每个节点都需要 code"
            return
        code = str(node["code"])
        division = divisions.lookup(code)
        where = f"{path.name}:{code}"
        if division is None:
            errors[where] = f"{code} 不是有效的行政区划代码（{divisions.DATASET}）"
        elif division.parent_code != parent:
            expected = division.parent_code or "（无，应为省级）"
            errors[where] = f"{code} {division.name} 的上级应为 {expected}，文件中为 {parent or '（无）'}"
        plugins = node.get("plugins") or []
        settings = node.get("settings") or {}
        if not isinstance(plugins, list) or not all(isinstance(p, str) for p in plugins):
            errors[where] = "plugins 应为插件名列表"
        if not isinstance(settings, dict):
            errors[where] = "settings 应为键值表"
            settings = {}
        # Every key declared by an installed plugin, every value of its type: kept as the declarations read them.
        settings, refused = check_settings(host, settings)
        errors.update({f"{where}:settings.{key}": problem for key, problem in refused.items()})
        if division is not None:
            entries.append(
                _Entry(
                    code=code,
                    name=str(node.get("name") or division.name),
                    division_type=str(node.get("division_type") or division.division_type),
                    level=division.level,
                    parent_code=parent,
                    plugins=list(plugins),
                    settings=dict(settings),
                    source=path.name,
                )
            )
        for child in node.get("children") or []:
            walk(child, code, f"{where}>")

    walk(document, None, path.name)
    if errors:
        raise ValidationFailed(f"租户文件 {path.name} 有 {len(errors)} 处错误，未做任何修改", fields=errors)
    return entries


def load_files(
    session: Session, host: PluginHost, paths: Iterable[Path | str], actor: Any = None
) -> LoadReport:
    """Create or update the tenants the files describe: all files validate first, then apply at once.

    Idempotent: a second run of the same files changes nothing. Tenants absent from the files are left alone.
    """
    entries = _validated_entries(paths, host)
    report = LoadReport()
    changed = _apply_entries(session, entries, actor, report)
    session.flush()
    for entry in entries:
        missing = [p for p in entry.plugins if not host.is_installed(p)]
        if missing:
            report.missing_plugins[entry.code] = missing
    session.commit()
    for tenant, created, changes in changed:
        host.for_tenant(view(session, host, tenant)).on_tenant_loaded(created=created, changes=changes)
    return report


_Changed = tuple[Tenant, bool, dict[str, list[Any]]]  # (tenant, created, changes): what the plugins are told


def _validated_entries(paths: Iterable[Path | str], host: PluginHost) -> list[_Entry]:
    """Every file's tenants, or every error of every file (a code in two files is one, a setting no installed
    plugin declares or of the wrong type another); nothing is applied."""
    entries: list[_Entry] = []
    errors: dict[str, Any] = {}
    for path in paths:
        try:
            entries.extend(_parse(Path(path), host))
        except ValidationFailed as exc:
            errors.update(exc.fields or {str(path): exc.message})
    seen: dict[str, str] = {}
    for entry in entries:
        if entry.code in seen:
            errors[entry.code] = f"{entry.code} 在 {seen[entry.code]} 和 {entry.source} 中重复出现"
        seen[entry.code] = entry.source
    if errors:
        raise ValidationFailed(f"租户文件有 {len(errors)} 处错误，未做任何修改", fields=errors)
    return entries


def _apply_entries(session: Session, entries: list[_Entry], actor: Any, report: LoadReport) -> list[_Changed]:
    """Create or update each entry's tenant (audited), counted in ``report``; the tenants created or changed."""
    codes = list(dict.fromkeys(entry.code for entry in entries))
    existing = {t.code: t for t in session.scalars(sa.select(Tenant).where(Tenant.code.in_(codes)))}
    changed: list[_Changed] = []
    by_code: dict[str, Tenant] = dict(existing)
    for entry in entries:  # parents come before their children in each file
        parent = _parent_of(session, by_code, entry)
        wanted = {
            "name": entry.name,
            "division_type": entry.division_type,
            "level": entry.level,
            "plugins": entry.plugins,
            "settings": entry.settings,
            "path": (parent.path if parent else "/") + entry.code + "/",
        }
        tenant = by_code.get(entry.code)
        if tenant is None:
            tenant = Tenant(code=entry.code, parent=parent, **wanted)
            session.add(tenant)
            session.flush()
            by_code[entry.code] = tenant
            report.created.append(entry.code)
            changed.append((tenant, True, {}))
            audit.record(session, actor=actor, action="tenant.create", obj=tenant, tenant_id=None,
                         after={"code": entry.code, **wanted})
            continue
        changes = _update_tenant(tenant, entry, parent, wanted)
        if not changes:
            report.unchanged += 1
            continue
        report.updated[entry.code] = changes
        changed.append((tenant, False, changes))
        audit.record(session, actor=actor, action="tenant.update", obj=tenant, tenant_id=None,
                     before={k: v[0] for k, v in changes.items()}, after={k: v[1] for k, v in changes.items()})
    return changed


def _parent_of(session: Session, by_code: dict[str, Tenant], entry: _Entry) -> Tenant | None:
    """The entry's parent: loaded or created in this run, else already in the database; it must exist."""
    parent = by_code.get(entry.parent_code) if entry.parent_code else None
    if entry.parent_code and parent is None:
        parent = get_by_code(session, entry.parent_code)
        if parent is None:
            raise ValidationFailed(f"{entry.code} 的上级 {entry.parent_code} 尚未建立", fields={entry.code: "上级不存在"})
    return parent


def _update_tenant(tenant: Tenant, entry: _Entry, parent: Tenant | None,
                   wanted: dict[str, Any]) -> dict[str, list[Any]]:
    """Bring ``tenant`` to what the entry wants; the changes as ``{field: [before, after]}`` (``parent`` by code)."""
    changes = {k: [getattr(tenant, k), v] for k, v in wanted.items() if getattr(tenant, k) != v}
    if tenant.parent_id != (parent.id if parent else None):
        changes["parent"] = [tenant.parent.code if tenant.parent else None, entry.parent_code]
        tenant.parent = parent
    for key, (_before, after) in changes.items():
        if key != "parent":
            setattr(tenant, key, after)
    return changes


@dataclasses.dataclass(frozen=True)
class TreeRow:
    """One tenant of the tree as the operator reads it: its depth, the plugins it enables and disables (codes),
    and those it enables that are not installed."""

    depth: int
    code: str
    name: str
    division_type: str
    plugins: list[str]
    disabled: list[str]
    missing: list[str]


def tree_rows(session: Session, host: PluginHost, root_code: str | None = None) -> list[TreeRow]:
    stmt = sa.select(Tenant).order_by(Tenant.path)
    if root_code:
        root = get_by_code(session, root_code)
        if root is None:
            raise NotFound(f"没有代码为 {root_code} 的财政部门")
        stmt = stmt.where(Tenant.path.startswith(root.path))
    return [TreeRow(tenant.path.strip("/").count("/"), tenant.code, tenant.name, tenant.division_type,
                    list(tenant.plugins_in_force), list(tenant.plugins_disabled or []),
                    [p for p in tenant.plugins_in_force if not host.is_installed(p)])
            for tenant in session.scalars(stmt)]


def tree_lines(session: Session, host: PluginHost, root_code: str | None = None) -> list[str]:
    """The tree for the command line (``jixiao tenants tree``): one line a tenant, plugins by their codes, as an
    operator types them there."""
    lines = []
    for row in tree_rows(session, host, root_code):
        marks = f"  [plugins: {', '.join(row.plugins)}]" if row.plugins else ""
        if row.disabled:
            marks += f"  [disabled: {', '.join(row.disabled)}]"
        if row.missing:
            marks += f"  [NOT INSTALLED: {', '.join(row.missing)}]"
        lines.append(f"{'  ' * row.depth}{row.code} {row.name} ({row.division_type}){marks}")
    return lines


def set_plugin(session: Session, host: PluginHost, actor: Any, code: str, plugin: str, enabled: bool) -> Tenant:
    """An operator enables or disables ``plugin`` for the tenant ``code`` (and so its descendants), beside what
    the tenants YAML lists: stored on the tenant, audited, and kept when the YAML is loaded again. ``actor`` is
    the system administrator, or ``None`` for the command line on the server."""
    if actor is not None:
        duties.require_system_administrator(actor)
    tenant = get_by_code(session, code)
    if tenant is None:
        raise NotFound(f"没有代码为 {code} 的财政部门")
    if plugin == NATIONAL:
        raise ValidationFailed(fields={"plugin": "全国规则（national）始终启用，不能启用或停用"})
    if enabled and not host.is_installed(plugin):
        raise ValidationFailed(fields={"plugin": f"插件 {plugin} 未安装（已安装：{', '.join(host.installed_names)}）"})
    before = {"plugins_enabled": list(tenant.plugins_enabled or []), "plugins_disabled": list(tenant.plugins_disabled or [])}
    was_in_force = plugin in tenant.plugins_in_force
    if enabled:
        tenant.plugins_disabled = [p for p in before["plugins_disabled"] if p != plugin]
        if plugin not in (tenant.plugins or []) and plugin not in before["plugins_enabled"]:
            tenant.plugins_enabled = [*before["plugins_enabled"], plugin]
    else:
        tenant.plugins_enabled = [p for p in before["plugins_enabled"] if p != plugin]
        if plugin not in before["plugins_disabled"]:
            tenant.plugins_disabled = [*before["plugins_disabled"], plugin]
    after = {"plugins_enabled": list(tenant.plugins_enabled), "plugins_disabled": list(tenant.plugins_disabled)}
    if after == before:
        raise Conflict(f"{tenant.name}已{'启用' if enabled else '停用'}插件 {plugin}，无需重复操作")
    audit.record(session, actor=actor, action="tenant.plugin_enable" if enabled else "tenant.plugin_disable",
                 obj=tenant, tenant_id=None, before={**before, "in_force": was_in_force},
                 after={**after, "in_force": plugin in tenant.plugins_in_force})
    session.commit()
    return tenant


def provision(session: Session, host: PluginHost, actor: Any, code: str, plugins: list[str] | None = None) -> Tenant:
    """An operator adds one tenant by its division code; its parent must already exist."""
    duties.require_system_administrator(actor)
    division = divisions.lookup(code)
    if division is None:
        raise ValidationFailed(fields={"code": f"{code} 不是有效的行政区划代码"})
    if get_by_code(session, code) is not None:
        raise ValidationFailed(fields={"code": f"{code} 已经开通"})
    parent = get_by_code(session, division.parent_code) if division.parent_code else None
    if division.parent_code and parent is None:
        raise ValidationFailed(fields={"code": f"请先开通上级 {division.parent_code}"})
    unknown = [p for p in plugins or [] if not host.is_installed(p)]
    if unknown:
        raise ValidationFailed(fields={"plugins": f"未安装的插件：{', '.join(unknown)}"})
    tenant = Tenant(
        code=code, name=division.name, division_type=division.division_type, level=division.level,
        parent=parent, path=(parent.path if parent else "/") + code + "/", plugins=plugins or [], settings={},
    )
    session.add(tenant)
    session.flush()
    audit.record(session, actor=actor, action="tenant.create", obj=tenant, tenant_id=None,
                 after={"code": code, "name": tenant.name, "plugins": tenant.plugins})
    session.commit()
    return tenant


def update_settings(session: Session, host: PluginHost, actor: Any, tenant: Tenant, settings: Mapping[str, Any],
                    clear: Iterable[str] = ()) -> Tenant:
    """A tenant's administrator changes its own settings (inherited by its descendants); ``clear`` removes its own
    value of those keys, so the inherited or default value is in force again. The settings page and the API call
    it alike: a key no installed plugin declares, or a value of the wrong type, refuses the whole change (400
    naming ``settings.<key>``) and nothing is written."""
    if not actor.has_role("admin") or actor.tenant_id != tenant.id:
        raise Forbidden("只有本级管理员可以修改本级设置")
    normalised, problems = check_settings(host, settings)
    if problems:
        raise ValidationFailed("本级设置有误，未做任何修改",
                               fields={f"settings.{key}": problem for key, problem in problems.items()})
    before = dict(tenant.settings or {})
    removed = set(clear)
    merged = {key: value for key, value in {**before, **normalised}.items() if key not in removed}
    size = len(json.dumps(merged, ensure_ascii=False, default=str).encode("utf-8"))
    if size > inputs.MAX_TENANT_SETTINGS_BYTES:
        # Settings are read on every request that calls a hook, and copied into every audit record of them.
        raise ValidationFailed(fields={"settings": f"本级设置最多 {inputs.MAX_TENANT_SETTINGS_BYTES // 1024} KB"
                                                   f"（JSON），提交后为 {size} 字节"})
    # Tenant rows are written only in a platform context (row-level security); the check above is the one that
    # lets this administrator change this row.
    with platform_write(session):
        tenant.settings = merged
        audit.record(session, actor=actor, action="tenant.settings", obj=tenant, tenant_id=tenant.id,
                     before=before, after=tenant.settings)
        session.commit()
    return tenant


def setting_from_text(host: PluginHost, key: str, text: str) -> Any:
    """What an administrator typed in the settings page's box for ``key``, as a value: a text setting as typed,
    any other as YAML (so JSON too: ``30``, ``[6, 12]``, ``true``, ``{"department_whole": [6]}``); the value is
    then checked by ``update_settings`` like the API's."""
    declared = host.settings.get(key)
    if declared is None:
        raise ValidationFailed("本级设置有误，未做任何修改", fields={f"settings.{key}": f"设置 {key} 没有任何已安装的插件声明"})
    if declared.setting.type == "text":
        return text.strip()
    try:
        return yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        raise ValidationFailed("本级设置有误，未做任何修改", fields={
            f"settings.{key}": f"设置 {key} 无法读取：请按 JSON 或 YAML 填写（如 30、[6, 12]、true）"}) from None
