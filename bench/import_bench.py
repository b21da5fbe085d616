"""Start-up cost: how long ``import <package>`` takes in a fresh interpreter.

Each sample is a new ``python -c`` child that times only the import statement, so the
interpreter's own start-up is left out; the packages are sampled in turn, round after
round, so load on a shared machine hits them alike. A first, discarded round lets
each child write its bytecode cache (PYTHONDONTWRITEBYTECODE is lifted for them), so
no figure includes compiling source. Run:
``.venv/bin/python bench/import_bench.py [rounds]``; ``main()`` returns the medians.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys

# What each figure imports: the statement a user's app starts with.
PACKAGES = {"treadle_ms": "treadle", "flask_ms": "flask", "werkzeug_ms": "werkzeug"}
_CHILD = (
    "import time\n"
    "t = time.perf_counter()\n"
    "import {module}\n"
    "print((time.perf_counter() - t) * 1000)\n"
)
TIMEOUT_S = 30.0


def import_ms(module: str) -> float:
    """Milliseconds one fresh interpreter spends on ``import module``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD.format(module=module)],
        capture_output=True, text=True, timeout=TIMEOUT_S, check=True, env=env,
    )
    return float(done.stdout.strip())


def main(rounds: int = 10) -> dict[str, float]:
    """Median import time of treadle, Flask and Werkzeug over ``rounds`` fresh interpreters."""
    for module in PACKAGES.values():
        import_ms(module)  # writes the bytecode cache
    samples: dict[str, list[float]] = {key: [] for key in PACKAGES}
    for _ in range(rounds):
        for key, module in PACKAGES.items():
            samples[key].append(import_ms(module))
    return {key: round(statistics.median(values), 1) for key, values in samples.items()}


if __name__ == "__main__":
    for key, value in main(int(sys.argv[1]) if len(sys.argv) > 1 else 10).items():
        print(f"{key:12} {value}")
