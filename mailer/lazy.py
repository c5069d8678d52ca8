"""Package names imported when first used (PEP 562).

A process that needs one part of a package (a sending worker, one CLI command) does not
pay for the rest: importing ``mailer.rendering.substitution`` must not import premailer,
cssutils and feedparser on the way through ``mailer/rendering/__init__.py``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(package: str, where: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports each name from the module
    ``where`` gives for it on first use, then keeps it in the package."""

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
