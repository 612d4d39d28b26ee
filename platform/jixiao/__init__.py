"""Jixiao (绩效): comprehensive budget performance management for finance bureaus.

Plugins import ``hookimpl`` from here and everything else from :mod:`jixiao.toolkit`.
"""

from importlib.metadata import PackageNotFoundError, version

import pluggy

hookimpl = pluggy.HookimplMarker("jixiao")

try:
    __version__ = version("jixiao")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"

__all__ = ["hookimpl", "__version__"]
