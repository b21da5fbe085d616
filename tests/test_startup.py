"""``import treadle`` stays light: heavy modules load on first use, not at start-up.

Each check runs a fresh interpreter, so what other tests imported does not count.
Timing lives in bench/import_bench.py; this guards what is imported, which is exact.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

TIMEOUT_S = 30.0

# Loaded only when a feature needs them: templates, the CLI, sessions, multipart
# bodies, cookies the stdlib way, upload spooling, HTTP-date parsing.
DEFERRED = (
    "jinja2", "click", "itsdangerous", "python_multipart", "http.cookies", "tempfile",
    "email", "logging", "hashlib", "uuid", "mimetypes", "shutil", "socket", "html",
    "decimal", "dataclasses", "secrets", "markupsafe", "pathlib", "difflib",
)


def _modules_after(code: str) -> set[str]:
    child = f"import sys, json\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, timeout=TIMEOUT_S, check=True
    )
    return set(json.loads(done.stdout))


@pytest.fixture(scope="module")
def after_import() -> set[str]:
    return _modules_after("import treadle")


@pytest.mark.parametrize("module", DEFERRED)
def test_import_treadle_does_not_load(after_import: set[str], module: str) -> None:
    assert module not in after_import


def test_public_names_still_resolve_without_loading_deferred_modules() -> None:
    loaded = _modules_after(
        "import treadle\n"
        "for name in treadle.__all__:\n"
        "    if not name.startswith(('render_', 'stream_template')):\n"
        "        getattr(treadle, name)\n"
        "app = treadle.Treadle('startup')\n"
        "app.route('/')(lambda: 'hi')\n"
    )
    assert loaded.isdisjoint(DEFERRED), sorted(loaded & set(DEFERRED))


def test_template_names_load_jinja_on_first_access() -> None:
    loaded = _modules_after("import treadle\ntreadle.render_template")
    assert "jinja2" in loaded
