"""Which files the reloader watches, and the stamps that tell an edit.

Watched: the source of every imported module outside the standard library,
site-/dist-packages and the virtual environment (a script run from inside one
of those still counts), plus ``extra_files``, minus ``exclude_patterns``.
"""

from __future__ import annotations

import contextlib
import fnmatch
import importlib.util
import os
import site
import sys
import sysconfig
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import ModuleType

__all__ = [
    "FileFilter",
    "ModuleScanner",
    "Stamp",
    "forget_bytecode",
    "py_files_in",
    "stamp",
    "take_stamps",
]

Stamp = tuple[int, int]
"""``(mtime_ns, size)``: size catches same-tick edits on coarse-mtime file systems."""

_LIBRARY_DIR_NAMES = frozenset({"site-packages", "dist-packages"})


def stamp(path: str) -> Stamp | None:
    """The file's stamp, or ``None`` if it does not exist (or cannot be read)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def take_stamps(paths: Iterable[str]) -> dict[str, Stamp | None]:
    """Stamp every path; missing files map to ``None``."""
    return {path: stamp(path) for path in paths}


def py_files_in(directory: str) -> set[str]:
    """The visible ``.py`` files directly in ``directory`` (editor lock files are hidden)."""
    try:
        names = os.listdir(directory)
    except OSError:
        return set()
    return {os.path.join(directory, name) for name in names
            if name.endswith(".py") and not name.startswith(".")}


def forget_bytecode(path: str) -> None:
    """Delete the cached ``.pyc`` of a changed source.

    The cache is trusted when the source's whole-second mtime and size match,
    so a same-size edit within the second would otherwise import the old code.
    """
    if not path.endswith(".py"):
        return
    with contextlib.suppress(OSError, ValueError, NotImplementedError):
        os.unlink(importlib.util.cache_from_source(path))


def _library_roots() -> tuple[str, ...]:
    roots: set[str] = set()
    for scheme_vars in (None, {"base": sys.base_prefix, "platbase": sys.base_exec_prefix}):
        paths = sysconfig.get_paths(vars=scheme_vars)
        roots.update(paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib"))
    roots.update(getattr(site, "getsitepackages", list)())
    user_site = getattr(site, "getusersitepackages", lambda: None)()
    if user_site:
        roots.add(user_site)
    if sys.prefix != sys.base_prefix:
        roots.add(sys.prefix)
    return tuple(sorted(os.path.join(os.path.abspath(r), "") for r in roots))


def _script_dir() -> str | None:
    main = sys.modules.get("__main__")
    main_file = getattr(main, "__file__", None)
    if getattr(main, "__spec__", None) is not None or not isinstance(main_file, str):
        return None
    return os.path.join(os.path.dirname(os.path.abspath(main_file)), "")


def _under_library(path: str, library_roots: tuple[str, ...]) -> bool:
    return path.startswith(library_roots) or not _LIBRARY_DIR_NAMES.isdisjoint(
        path.split(os.sep))


@dataclass(frozen=True, slots=True)
class FileFilter:
    """Decides whether a path is worth watching.

    ``rescued_roots`` are project directories that happen to lie inside a
    library root (a script run from within a venv): their files are watched.
    """

    library_roots: tuple[str, ...]
    rescued_roots: tuple[str, ...]
    exclude_patterns: tuple[str, ...]

    @classmethod
    def for_this_process(cls, exclude_patterns: tuple[str, ...]) -> FileFilter:
        roots = _library_roots()
        script_dir = _script_dir()
        rescued = (script_dir,) if script_dir and _under_library(script_dir, roots) else ()
        return cls(roots, rescued, exclude_patterns)

    def is_library(self, path: str) -> bool:
        if self.rescued_roots and path.startswith(self.rescued_roots):
            return False
        return _under_library(path, self.library_roots)

    def is_excluded(self, path: str) -> bool:
        return any(fnmatch.fnmatchcase(path, pattern) for pattern in self.exclude_patterns)

    def wants(self, path: str) -> bool:
        return not self.is_excluded(path) and not self.is_library(path)


def module_source(module: ModuleType) -> str | None:
    """The file to watch for ``module``: its source, the archive it was imported from, or None."""
    name = getattr(module, "__file__", None)
    if not isinstance(name, str) or not name:
        return None
    path = os.path.abspath(name)
    if path.endswith(".pyc"):
        try:
            source = importlib.util.source_from_cache(path)
        except ValueError:
            source = path[:-1]
        if os.path.isfile(source):
            path = source
    # A module imported from a zip archive names a path inside it: watch the archive.
    while not os.path.isfile(path):
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent
    return path


class ModuleScanner:
    """Reports the watched files of modules imported since the previous scan."""

    def __init__(self, file_filter: FileFilter) -> None:
        self._filter = file_filter
        self._modules: dict[str, ModuleType] = {}
        self._paths: set[str] = set()

    def scan(self, modules: Mapping[str, ModuleType] | None = None) -> list[str]:
        """New watched paths, in import order; cheap when nothing new was imported."""
        # A copy, because another thread may be importing while we iterate.
        current = dict(sys.modules if modules is None else modules)
        new: list[str] = []
        for name, module in current.items():
            if self._modules.get(name) is module:
                continue
            self._modules[name] = module
            path = module_source(module)
            if path is None or path in self._paths or not self._filter.wants(path):
                continue
            self._paths.add(path)
            new.append(path)
        return new
