"""URL matching cost as the rule count grows: treadle.routing against werkzeug.routing.

`python bench/routing_bench.py` prints µs per `adapter.match()` of the last-added
route among 10, 100 and 1000 rules; `main()` returns the same figures for bench/run.py.
Flat figures across sizes mean matching does not scan the rules.
"""

from __future__ import annotations

import timeit
import warnings
from collections.abc import Callable
from typing import Any

import werkzeug.routing

import treadle.routing

SIZES = (10, 100, 1000)
LOOPS = 5_000
REPEATS = 5

# shape -> (rule for index i, the path that matches the last rule of n)
SHAPES: dict[str, tuple[Callable[[int], str], Callable[[int], str]]] = {
    "static": (lambda i: f"/page{i}/about", lambda n: f"/page{n - 1}/about"),
    "dynamic": (lambda i: f"/shop{i}/<int:item>/<name>", lambda n: f"/shop{n - 1}/42/blue"),
}


def _adapter(routing: Any, rule_for: Callable[[int], str], size: int) -> Any:
    rules = [routing.Rule(rule_for(i), endpoint=f"e{i}") for i in range(size)]
    return routing.Map(rules).bind("example.com")


def _us_per_match(adapter: Any, path: str) -> float:
    adapter.match(path)  # fail loudly before timing if the path does not match
    timer = timeit.Timer(lambda: adapter.match(path))
    return min(timer.repeat(repeat=REPEATS, number=LOOPS)) / LOOPS * 1e6


def main() -> dict[str, dict[str, float]]:
    """µs per match, keyed by "<shape> route, <n> rules", for each library."""
    figures: dict[str, dict[str, float]] = {"treadle": {}, "werkzeug": {}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for shape, (rule_for, path_for) in SHAPES.items():
            for size in SIZES:
                label = f"{shape} route, {size} rules"
                for name, routing in (("treadle", treadle.routing), ("werkzeug", werkzeug.routing)):
                    adapter = _adapter(routing, rule_for, size)
                    figures[name][label] = round(_us_per_match(adapter, path_for(size)), 2)
    return figures


if __name__ == "__main__":
    results = main()
    labels = list(results["treadle"])
    width = max(map(len, labels))
    print(f"{'µs per match':<{width}}  {'treadle':>8}  {'werkzeug':>8}")
    for label in labels:
        print(
            f"{label:<{width}}  {results['treadle'][label]:>8.2f}  {results['werkzeug'][label]:>8.2f}"
        )
