"""The run-wide GIL guard (tests/gil_guard.py, loaded by the root conftest.py) catches an extension that
turns the GIL back on, and names it."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import textwrap
import types
from pathlib import Path

import pytest
from tests.gil_guard import GilGuard

FREE_THREADED = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
ROOT = Path(__file__).resolve().parent.parent


def _fake_extension(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    module = types.ModuleType(name)
    module.__file__ = f"/somewhere/{name}{sysconfig.get_config_var('EXT_SUFFIX')}"
    monkeypatch.setitem(sys.modules, name, module)


def test_quiet_while_the_gil_stays_off(monkeypatch: pytest.MonkeyPatch) -> None:
    guard = GilGuard(lambda: False)
    _fake_extension(monkeypatch, "harmless_ext")
    assert guard.check("during a") is None
    assert guard.check("during b") is None


def test_names_the_extensions_imported_since_the_last_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gil = [False]
    guard = GilGuard(lambda: gil[0])
    _fake_extension(monkeypatch, "early_ext")
    assert guard.check("during a") is None
    _fake_extension(monkeypatch, "culprit_ext")
    gil[0] = True
    message = guard.check("during test_b")
    assert message is not None
    assert "during test_b" in message and "culprit_ext" in message
    assert "early_ext" not in message
    assert guard.check("during test_c") is None  # reported once; the run stops there


EXTENSION_SOURCE = """\
#include <Python.h>
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "gil_taker", NULL, -1, NULL};
PyMODINIT_FUNC PyInit_gil_taker(void) { return PyModule_Create(&def); }
"""


@pytest.mark.skipif(not FREE_THREADED, reason="the GIL can only turn back on in a free-threaded build")
def test_a_real_extension_without_py_mod_gil_fails_the_run(tmp_path: Path) -> None:
    (tmp_path / "gil_taker.c").write_text(EXTENSION_SOURCE)
    target = tmp_path / f"gil_taker{sysconfig.get_config_var('EXT_SUFFIX')}"
    include = sysconfig.get_path("include")
    subprocess.run(
        ["gcc", "-shared", "-fPIC", f"-I{include}", "-o", str(target), str(tmp_path / "gil_taker.c")],
        check=True, timeout=60,
    )  # fmt: skip
    (tmp_path / "test_user.py").write_text(textwrap.dedent("""\
        def test_clean():
            pass

        def test_imports_it():
            import gil_taker  # noqa: F401

        def test_never_runs():
            pass
    """))
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{ROOT}{':'}{tmp_path}"}
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-m", "pytest", "-p", "tests.gil_guard", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), str(tmp_path / "test_user.py")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "the GIL was re-enabled during test_user.py::test_imports_it" in output
    assert "gil_taker" in output
    assert "test_never_runs" not in output.split("short test summary")[0].split("test_imports_it")[-1]
