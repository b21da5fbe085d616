"""Fuzz request parsing for as long as asked: the http layer's and the app layer's harnesses together.

Runs every Hypothesis property test in ``tests/http/test_fuzz.py`` (sans-IO
framing, any split), ``tests/fuzz/test_fuzz_request_parsing.py`` (query,
cookies, forms, multipart, JSON, Range/Accept/If-None-Match) and
``tests/fuzz/test_fuzz_wire.py`` (mutated requests to a real server) in rounds
of fresh random examples until the time is up; or, with ``--engine atheris``,
feeds libFuzzer's coverage-guided bytes to the same tests, and raw bytes to the
real server. Failing examples land in ``.hypothesis/`` at the repository root,
so a plain ``pytest`` replays them.

    .venv/bin/python fuzz/run.py --minutes 10
    .venv/bin/python fuzz/run.py --minutes 30 --engine atheris --only multipart
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib.util
import inspect
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HARNESSES = [ROOT / "tests" / "http" / "test_fuzz.py",
             ROOT / "tests" / "fuzz" / "test_fuzz_request_parsing.py",
             ROOT / "tests" / "fuzz" / "test_fuzz_wire.py"]

Test = Callable[[], None]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=5.0,
                        help="how long to fuzz in total (default: 5)")
    parser.add_argument("--engine", choices=["hypothesis", "atheris"], default="hypothesis",
                        help="random rounds (hypothesis) or coverage-guided (atheris, "
                             "needs `pip install atheris`)")
    parser.add_argument("--examples", type=int, default=500,
                        help="hypothesis engine: examples per test per round (default: 500)")
    parser.add_argument("--only", default="",
                        help="run only the tests whose name contains this text")
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.examples <= 0:
        parser.error("--minutes and --examples must be greater than 0")
    return args


def load_tests(only: str, stack: contextlib.ExitStack) -> dict[str, Test]:
    """Import the harnesses by path; return their Hypothesis tests by name, fixtures bound.

    A test taking ``address`` gets a server from its module's ``serving()``,
    started once and stopped when ``stack`` closes.
    """
    tests: dict[str, Test] = {}
    for path in HARNESSES:
        module = _import(path)
        address = None
        for name, value in vars(module).items():
            if not (name.startswith("test_") and hasattr(value, "hypothesis") and only in name):
                continue
            if "address" in inspect.signature(value).parameters:
                if address is None:
                    address = stack.enter_context(module.serving())
                value = functools.partial(value, address=address)
            tests[f"{path.parent.name}/{path.stem}::{name}"] = value
    if not tests:
        raise SystemExit(f"no property test matches --only {only!r}")
    return tests


def _import(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"fuzz_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def use_repository_database() -> None:
    """Keep failing examples where pytest, run from the repository root, will replay them."""
    from hypothesis import settings
    from hypothesis.database import DirectoryBasedExampleDatabase

    settings.register_profile(
        "fuzz", database=DirectoryBasedExampleDatabase(str(ROOT / ".hypothesis" / "examples")))
    settings.load_profile("fuzz")


def run_rounds(tests: dict[str, Test], seconds: float, examples: int) -> int:
    """Run every test round after round until ``seconds`` pass; 1 if any test failed."""
    deadline = time.monotonic() + seconds
    failed: dict[str, str] = {}
    rounds = 0
    started = time.monotonic()
    while time.monotonic() < deadline and len(failed) < len(tests):
        rounds += 1
        for name, test in tests.items():
            if name in failed:
                continue
            if time.monotonic() >= deadline:
                break
            try:
                test()
            except Exception:
                failed[name] = traceback.format_exc()
                print(f"FAIL {name}\n{failed[name]}", flush=True)
        print(f"round {rounds} done, {time.monotonic() - started:.0f}s in", flush=True)
    print(f"\n{rounds} round(s) of {len(tests)} tests, {examples} examples per test per round; "
          f"{len(failed)} failed{': ' + ', '.join(failed) if failed else ''}")
    return 1 if failed else 0


def run_atheris(only: str, seconds: float) -> None:
    """Coverage-guided: libFuzzer's first byte picks a target, the rest drives it.

    Targets are each test's ``fuzz_one_input`` (its strategies decode the bytes)
    and, beside the wire test, the raw bytes sent to the real server as they are.
    """
    try:
        import atheris  # type: ignore[import-untyped]
    except ImportError:
        raise SystemExit("the atheris engine needs atheris: .venv/bin/pip install atheris") \
            from None
    with contextlib.ExitStack() as stack:
        with atheris.instrument_imports(include=["treadle"]):
            tests = load_tests(only, stack)
        targets: dict[str, Callable[[bytes], Any]] = {}
        for name, test in tests.items():
            if isinstance(test, functools.partial):  # a fixture is bound: drive it directly
                module = sys.modules[test.func.__module__]
                targets[name + " (raw bytes)"] = functools.partial(
                    module.check_answer, test.keywords["address"])
            else:
                targets[name] = test.hypothesis.fuzz_one_input  # type: ignore[attr-defined]
        print(f"fuzzing {len(targets)} targets with atheris for {seconds:.0f}s:", *targets,
              sep="\n  ", flush=True)
        chosen = list(targets.values())

        def one_input(data: bytes) -> None:
            if data:
                chosen[data[0] % len(chosen)](data[1:])

        atheris.Setup([sys.argv[0], f"-max_total_time={max(1, int(seconds))}"], one_input)
        atheris.Fuzz()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # The harnesses read this at import: it sets examples per call and unpins the seed.
    os.environ["TREADLE_FUZZ_EXAMPLES"] = str(args.examples)
    use_repository_database()
    # Malformed multipart bodies are the point here; the parser's warnings about them are not.
    logging.getLogger("python_multipart").setLevel(logging.ERROR)
    if args.engine == "atheris":
        run_atheris(args.only, args.minutes * 60)
        return 0
    with contextlib.ExitStack() as stack:
        return run_rounds(load_tests(args.only, stack), args.minutes * 60, args.examples)


if __name__ == "__main__":
    sys.exit(main())
