"""Each layer imports only itself and the layers below it (ARCHITECTURE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "treadle"

# The treadle modules each layer may import; anything else under ``treadle`` is upward.
PERMITTED: dict[str, tuple[str, ...]] = {
    "http": ("treadle.http",),
    "server": ("treadle.http", "treadle.server"),
}
# The standard library modules the sans-IO layer must never touch.
IO_MODULES = ("socket", "ssl", "threading", "selectors", "asyncio", "select")

# Sanctioned reaches upward. ``treadle`` itself: the version string. run_simple switches
# the dev tools and the static-file middleware on, importing them lazily. treadle._speedups
# is a leaf (C helpers for several layers, importing nothing of treadle).
ALLOWED: dict[str, tuple[str, ...]] = {
    "server/handler.py": ("treadle",),
    "server/channel.py": ("treadle._speedups",),
    "server/threaded.py": ("treadle._speedups",),
    "server/serving.py": (
        "treadle.dev.debugger", "treadle.dev.reloader", "treadle.middleware.static",
    ),
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


@pytest.mark.parametrize("layer", sorted(PERMITTED))
def test_layer_imports_only_layers_below(layer: str) -> None:
    offenders = []
    for path in sorted((SRC / layer).rglob("*.py")):
        allowed = ALLOWED.get(path.relative_to(SRC).as_posix(), ())
        for name in sorted(_imports(path)):
            upward = _within(name, ("treadle",)) and not _within(name, PERMITTED[layer])
            if upward and name not in allowed:
                offenders.append(f"{path.relative_to(SRC)} imports {name}")
    assert not offenders, "\n".join(offenders)


def test_http_layer_does_no_io() -> None:
    offenders = [
        f"{path.relative_to(SRC)} imports {name}"
        for path in sorted((SRC / "http").rglob("*.py"))
        for name in sorted(_imports(path))
        if _within(name, IO_MODULES)
    ]
    assert not offenders, "\n".join(offenders)
