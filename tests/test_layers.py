"""Each layer imports only the layers below it (ARCHITECTURE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "treadle"

# What each layer may never import.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "http": ("treadle.server", "treadle.app", "treadle.serving", "treadle.dev", "socket",
             "threading", "selectors", "treadle.wrappers", "treadle.ctx"),
    "server": ("treadle.app", "treadle.ctx", "treadle.wrappers", "treadle.routing",
               "treadle.dev", "treadle.blueprints", "treadle.templating"),
}

# Sanctioned reaches upward: run_simple switches the dev tools on, importing them lazily.
ALLOWED: dict[str, tuple[str, ...]] = {
    "server/serving.py": ("treadle.dev.debugger", "treadle.dev.reloader"),
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


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_only_layers_below(layer: str) -> None:
    offenders = []
    for path in sorted((SRC / layer).rglob("*.py")):
        allowed = ALLOWED.get(path.relative_to(SRC).as_posix(), ())
        for name in _imports(path) - set(allowed):
            if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[layer]):
                offenders.append(f"{path.relative_to(SRC)} imports {name}")
    assert not offenders, "\n".join(offenders)
