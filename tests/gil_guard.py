"""Run-wide guard for free-threaded CPython: the GIL must stay off for the whole test run.

On a free-threaded build (3.13t), importing an extension module that does not declare
``Py_mod_gil`` silently turns the GIL back on for the rest of the process, and the run would
then test the GIL build without saying so. After every test this checks
``sys._is_gil_enabled()``; the test after which it turned on fails, naming the extension
modules imported since the previous check, and the run stops. Set ``PYTHON_GIL=1`` to run
with the GIL on purpose (the check is then off). On a regular build it does nothing.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from collections.abc import Callable, Generator
from importlib.machinery import EXTENSION_SUFFIXES

import pytest


def guard_applies() -> bool:
    """True on a free-threaded interpreter that was not asked to run with the GIL."""
    return bool(sysconfig.get_config_var("Py_GIL_DISABLED")) and os.environ.get("PYTHON_GIL") != "1"


def extension_modules() -> set[str]:
    """Names of the loaded modules that come from a compiled extension file."""
    names = set()
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None) or ""
        if path.endswith(tuple(EXTENSION_SUFFIXES)):
            names.add(name)
    return names


class GilGuard:
    """Remembers which extensions were loaded at the last check that found the GIL off."""

    def __init__(self, gil_enabled: Callable[[], bool]) -> None:
        self.gil_enabled = gil_enabled
        self.seen = extension_modules()
        self.tripped = False

    def check(self, where: str) -> str | None:
        """A message if the GIL is on now (the first time only), else None."""
        if self.tripped:
            return None
        loaded = extension_modules()
        new, self.seen = sorted(loaded - self.seen), loaded
        if not self.gil_enabled():
            return None
        self.tripped = True
        suspects = ", ".join(new) or "none new since the previous check"
        return (
            f"the GIL was re-enabled {where}; extension modules imported since the previous"
            f" check: {suspects}. Such a module lacks Py_mod_gil = Py_MOD_GIL_NOT_USED;"
            f" run with PYTHON_GIL=1 only if that is intended."
        )


_guard: GilGuard | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _guard
    if not guard_applies():
        return
    _guard = GilGuard(sys._is_gil_enabled)  # type: ignore[attr-defined]
    message = _guard.check("before the first test (by a plugin or conftest import)")
    if message is not None:
        raise pytest.UsageError(message)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    yield
    if _guard is None:
        return
    message = _guard.check(f"during {item.nodeid}")
    if message is not None:
        item.session.shouldstop = message
        pytest.fail(message, pytrace=False)
