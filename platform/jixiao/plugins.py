"""The plugin host: discovers plugins, and calls hooks for a tenant with only the plugins it enables."""

from __future__ import annotations

import copy
import dataclasses
import logging
from collections.abc import Callable, Iterable, Mapping
from importlib.metadata import entry_points
from typing import Any, TypeVar

import pluggy
from flask import Flask, current_app
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from jixiao import __version__, hookspecs
from jixiao.rules import national
from jixiao.toolkit import Setting, SettingError

logger = logging.getLogger(__name__)
T = TypeVar("T")

NATIONAL = "national"
ENTRY_POINT_GROUP = "jixiao"
#: The module-level name a plugin declares its display name with (``DISPLAY_NAME = "某省规则"``): what pages show
#: beside the plugin's code, which stays the name tenants YAML files use.
DISPLAY_NAME_ATTRIBUTE = "DISPLAY_NAME"


@dataclasses.dataclass(frozen=True)
class PluginInfo:
    name: str
    version: str
    distribution: str
    hooks: tuple[str, ...]
    builtin: bool
    display_name: str = ""


def by_name(items: Iterable[T], name_of: Callable[[T], str], what: str) -> dict[str, T]:
    """What plugins registered, by name; a name registered twice stops the app from being made."""
    known: dict[str, T] = {}
    for item in items:
        name = name_of(item)
        if name in known:
            raise ValueError(f"{what} {name} is registered twice")
        known[name] = item
    return known


@dataclasses.dataclass(frozen=True)
class DeclaredSetting:
    """A setting some installed plugin declares (``declare_settings``), with the plugin that declares it."""

    setting: Setting
    plugin: str


def declared_settings(pm: pluggy.PluginManager) -> dict[str, DeclaredSetting]:
    """Every installed plugin's ``declare_settings``, by key, in registration order (the core's first). A key
    declared twice, an answer that is not a list of ``Setting`` or a default its own type refuses stops the app
    from being made, naming the plugins."""
    declared: dict[str, DeclaredSetting] = {}
    for implementation in pm.hook.declare_settings.get_hookimpls():
        plugin = implementation.plugin_name
        answer = implementation.function() or []
        if not isinstance(answer, list | tuple) or not all(isinstance(item, Setting) for item in answer):
            raise TypeError(f"plugin {plugin}: declare_settings must return a list of jixiao.toolkit.Setting")
        for setting in answer:
            if setting.key in declared:
                raise ValueError(f"setting {setting.key} is declared twice: by {declared[setting.key].plugin} "
                                 f"and by {plugin}")
            if setting.default is not None:
                try:
                    setting.parse(setting.default)
                except SettingError as exc:
                    raise ValueError(f"plugin {plugin}: the default of {setting.key} is refused: {exc}") from None
            declared[setting.key] = DeclaredSetting(setting, plugin)
    return declared


def core_incompatibility(requires: Iterable[str] | None, core_version: str = __version__) -> str | None:
    """Why a plugin whose distribution ``requires`` (its ``Requires-Dist`` lines) cannot run on this core, or
    ``None``. A plugin declares the core versions it supports as a dependency, ``jixiao>=0.1,<0.2``."""
    for line in requires or ():
        requirement = Requirement(line)
        if canonicalize_name(requirement.name) != "jixiao" or requirement.marker and not requirement.marker.evaluate(
                {"extra": ""}):
            continue
        if requirement.specifier and not requirement.specifier.contains(core_version, prereleases=True):
            return f"requires jixiao{requirement.specifier}, this is jixiao {core_version}"
    return None


class PluginHost:
    """One pluggy manager per app, built by the app factory (never at import time)."""

    def __init__(self, extra: Iterable[tuple[str, Any]] = (), load_entry_points: bool = True,
                 core: Iterable[tuple[str, Any]] = ()) -> None:
        self.pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
        self.pm.add_hookspecs(hookspecs)
        self._distributions: dict[str, tuple[str, str]] = {NATIONAL: ("jixiao", __version__)}
        # The core's own features, registered like any plugin; they answer only the composition hooks.
        self.core_names: tuple[str, ...] = ()
        #: Installed plugins not loaded because they declare core versions this one is not: name → why.
        self.incompatible: dict[str, str] = {}
        for name, plugin in core:
            self.pm.register(plugin, name=name)
            self._distributions[name] = ("jixiao", __version__)
            self.core_names += (name,)
        self._always_on = frozenset({NATIONAL, *self.core_names})
        # National rules first: pluggy asks the last registered plugin first, so regions override them.
        self.pm.register(national, name=NATIONAL)
        if load_entry_points:
            self._load_entry_points()
        for name, plugin in extra:
            self.pm.register(plugin, name=name)
            self._distributions[name] = ("(test)", "0")
        self.pm.check_pending()
        self._callers: dict[tuple[str, tuple[str, ...]], OrderedHook] = {}
        #: The settings the installed plugins read, by key: collected once, when the host (the app) is made.
        self.settings: Mapping[str, DeclaredSetting] = declared_settings(self.pm)
        self._defaults: dict[tuple[str, ...], list[tuple[str, dict[str, Any]]]] = {}

    def _load_entry_points(self, found: Iterable[Any] | None = None) -> None:
        for ep in entry_points(group=ENTRY_POINT_GROUP) if found is None else found:
            if self.pm.get_plugin(ep.name) is not None or self.pm.is_blocked(ep.name):
                continue
            dist = ep.dist
            problem = core_incompatibility(dist.requires if dist else None)
            if problem:
                # Loading it could break every tenant's rules; tenants that enable it see it as not installed.
                self.incompatible[ep.name] = problem
                logger.warning("plugin %s not loaded: %s", ep.name, problem)
                continue
            plugin = ep.load()
            self.pm.register(plugin, name=ep.name)
            self._distributions[ep.name] = (dist.name, dist.version) if dist else ("?", "?")

    @property
    def installed_names(self) -> list[str]:
        return [name for name, _ in self.pm.list_name_plugin()]

    def is_installed(self, name: str) -> bool:
        return self.pm.has_plugin(name)

    def display_name(self, name: str) -> str:
        """The plugin's name in words (its ``DISPLAY_NAME``); its code when it declares none or is not installed
        (a tenant may enable a plugin that is not installed: the page still names it)."""
        declared = getattr(self.pm.get_plugin(name), DISPLAY_NAME_ATTRIBUTE, None)
        return declared.strip() if isinstance(declared, str) and declared.strip() else name

    def collect(self, hook_name: str) -> list[Any]:
        """Every installed plugin's answer to a composition hook, flattened, in registration order (the core's
        first): what an app is made of does not depend on a tenant."""
        answers = getattr(self.pm.hook, hook_name)()
        # pluggy calls the last registered plugin first.
        return [item for answer in reversed(answers) for item in answer]

    def info(self) -> list[PluginInfo]:
        """The rule plugins: national and the installed regions (the core's own composition plugins are not
        listed; ``core_names`` has them)."""
        infos = []
        for name, plugin in self.pm.list_name_plugin():
            if name in self.core_names:
                continue
            hooks = tuple(sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or []))
            dist, version = self._distributions.get(name, ("?", "?"))
            infos.append(PluginInfo(name, version, dist, hooks, builtin=name == NATIONAL,
                                    display_name=self.display_name(name)))
        return sorted(infos, key=lambda i: (not i.builtin, i.name))

    def hook(self, name: str, precedence: Iterable[str]) -> OrderedHook:
        """The hook ``name`` as a tenant sees it: only the plugins in force for it, asked in ``precedence`` order
        (the tenant's own plugins in their YAML order, then its parent's … — ``TenantView.plugins``), national
        last. pluggy would ask in registration order, which says nothing about which tenant enabled a plugin."""
        order = tuple(dict.fromkeys([*precedence, NATIONAL, *self.core_names]))
        key = (name, order)
        if key not in self._callers:
            caller = getattr(self.pm.hook, name)
            by_plugin = {impl.plugin_name: impl for impl in caller.get_hookimpls()}
            firstresult = bool(caller.spec is not None and caller.spec.opts.get("firstresult"))
            self._callers[key] = OrderedHook(name, tuple(by_plugin[n] for n in order if n in by_plugin), firstresult)
        return self._callers[key]

    def setting_defaults(self, precedence: Iterable[str]) -> list[tuple[str, dict[str, Any]]]:
        """The declared defaults in force for a tenant whose plugins are ``precedence``: each declaring plugin in
        force (the core's, national, the tenant's) with its defaults, the core's first. A plugin not in force
        contributes none (one region's default is not another region's county's setting). Fresh copies: a reader may not
        change the declared value."""
        in_force = tuple(dict.fromkeys([*self.core_names, NATIONAL, *precedence]))
        if in_force not in self._defaults:
            grouped: dict[str, dict[str, Any]] = {name: {} for name in in_force}
            for key, declared in self.settings.items():
                if declared.plugin in grouped and declared.setting.default is not None:
                    grouped[declared.plugin][key] = declared.setting.default
            self._defaults[in_force] = [(name, values) for name, values in grouped.items() if values]
        return [(name, copy.deepcopy(values)) for name, values in self._defaults[in_force]]

    def for_tenant(self, tenant_view: Any) -> TenantHooks:
        return TenantHooks(self, tenant_view)


@dataclasses.dataclass(frozen=True)
class OrderedHook:
    """One hook's implementations for one tenant, in precedence order. A ``firstresult`` hook answers with the
    first answer that is not ``None``; any other collects every answer that is not ``None``, in that order."""

    name: str
    implementations: tuple[Any, ...]
    firstresult: bool

    def __call__(self, **kwargs: Any) -> Any:
        answers = []
        for implementation in self.implementations:
            try:
                arguments = [kwargs[argument] for argument in implementation.argnames]
            except KeyError as missing:
                raise TypeError(f"hook {self.name} called without {missing}") from None
            answer = implementation.function(*arguments)
            if answer is None:
                continue
            if self.firstresult:
                return answer
            answers.append(answer)
        return None if self.firstresult else answers

    def answered(self, **kwargs: Any) -> tuple[Any, str | None]:
        """A ``firstresult`` hook's answer with the plugin that gave it (``(None, None)``: nobody answered), for
        records that keep which plugin's rule they were made by."""
        for implementation in self.implementations:
            answer = implementation.function(*[kwargs[argument] for argument in implementation.argnames])
            if answer is not None:
                return answer, implementation.plugin_name
        return None, None

    def explain(self, **kwargs: Any) -> list[tuple[str, Any]]:
        """Each plugin asked, in order, with its own answer (``None``: it lets the next one answer)."""
        return [(implementation.plugin_name,
                 implementation.function(*[kwargs[argument] for argument in implementation.argnames]))
                for implementation in self.implementations]

    @property
    def plugin_names(self) -> tuple[str, ...]:
        """Who is asked, in order (what ``jixiao plugins explain`` shows)."""
        return tuple(implementation.plugin_name for implementation in self.implementations)


class TenantHooks:
    """``hooks.some_hook(**kw)`` calls ``some_hook`` with ``tenant=`` set, on the tenant's plugins only."""

    def __init__(self, host: PluginHost, tenant_view: Any) -> None:
        self._host = host
        self.tenant = tenant_view

    def answered(self, name: str, **kwargs: Any) -> tuple[Any, str | None]:
        """``firstresult`` hook ``name``'s answer for the tenant, and which plugin gave it."""
        return self._host.hook(name, self.tenant.plugins).answered(tenant=self.tenant, **kwargs)

    def answers(self, name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """A collected hook's answers for the tenant that are not ``None``, each with the plugin that gave it."""
        asked = self._host.hook(name, self.tenant.plugins).explain(tenant=self.tenant, **kwargs)
        return [(plugin, answer) for plugin, answer in asked if answer is not None]

    def __getattr__(self, name: str) -> Any:
        caller = self._host.hook(name, self.tenant.plugins)

        def call(**kwargs: Any) -> Any:
            return caller(tenant=self.tenant, **kwargs)

        return call


def init_app(app: Flask, core: Iterable[tuple[str, Any]] = ()) -> PluginHost:
    made = PluginHost(extra=app.config.get("EXTRA_PLUGINS", ()), core=core)
    app.extensions["jixiao.plugins"] = made
    return made


def host() -> PluginHost:
    return current_app.extensions["jixiao.plugins"]
