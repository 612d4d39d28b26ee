"""The plugin host: discovers plugins, and calls hooks for a tenant with only the plugins it enables."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable
from importlib.metadata import entry_points
from typing import Any, TypeVar

import pluggy
from flask import Flask, current_app
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from jixiao import __version__, hookspecs
from jixiao.rules import national

logger = logging.getLogger(__name__)
T = TypeVar("T")

NATIONAL = "national"
ENTRY_POINT_GROUP = "jixiao"


@dataclasses.dataclass(frozen=True)
class PluginInfo:
    name: str
    version: str
    distribution: str
    hooks: tuple[str, ...]
    builtin: bool


def by_name(items: Iterable[T], name_of: Callable[[T], str], what: str) -> dict[str, T]:
    """What plugins registered, by name; a name registered twice stops the app from being made."""
    known: dict[str, T] = {}
    for item in items:
        name = name_of(item)
        if name in known:
            raise ValueError(f"{what} {name} is registered twice")
        known[name] = item
    return known


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
            infos.append(PluginInfo(name, version, dist, hooks, builtin=name == NATIONAL))
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
