"""LocalProxy attribute access: treadle against a direct ContextVar read and Werkzeug.

`python bench/proxy_bench.py` prints ns per `proxy.attr` and each figure's ratio
to `var.get().attr`; `main()` returns the same figures for bench/run.py. Treadle's
proxies are timed with the C reader (treadle._speedups, when built) and the Python one.
"""

from __future__ import annotations

import timeit
from contextvars import ContextVar

from werkzeug.local import LocalProxy as WerkzeugLocalProxy

import treadle.local
from treadle.local import Local, LocalProxy, LocalStack

LOOPS = 200_000
REPEATS = 5


class Target:
    def __init__(self) -> None:
        self.attr = 1


class Context:
    """Stands in for a request context: the proxied object is one of its attributes."""

    def __init__(self) -> None:
        self.request = Target()


def _setup() -> dict[str, object]:
    var: ContextVar[Target] = ContextVar("bench.var")
    var.set(Target())
    ctx_var: ContextVar[Context] = ContextVar("bench.ctx")
    ctx_var.set(Context())
    stack: LocalStack[Target] = LocalStack()
    stack.push(Target())
    local = Local()
    local.obj = Target()
    names: dict[str, object] = {
        "obj": Target(),
        "var": var,
        "ctx_var": ctx_var,
        "werkzeug_var": WerkzeugLocalProxy(var),
        "werkzeug_ctx": WerkzeugLocalProxy(ctx_var, "request"),
    }
    built_in_c = treadle.local.reads_in_c
    for suffix, in_c in (("", built_in_c), ("_py", False)):
        treadle.local.reads_in_c = in_c
        names["proxy_var" + suffix] = LocalProxy(var)
        names["proxy_ctx" + suffix] = LocalProxy(ctx_var, "request")
        names["proxy_stack" + suffix] = LocalProxy(stack)
        names["proxy_local" + suffix] = LocalProxy(local, "obj")
    treadle.local.reads_in_c = built_in_c
    return names


READER = "C" if treadle.local.reads_in_c else "Python, no C extension built"


# label -> (statement, the direct read it should be compared with)
CASES: dict[str, tuple[str, str]] = {
    "direct obj.attr": ("obj.attr", "obj.attr"),
    "var.get().attr": ("var.get().attr", "var.get().attr"),
    "ctx_var.get().request.attr": ("ctx_var.get().request.attr", "ctx_var.get().request.attr"),
    f"treadle ({READER}) LocalProxy(var).attr": ("proxy_var.attr", "var.get().attr"),
    f"treadle ({READER}) LocalProxy(ctx_var, 'request').attr": (
        "proxy_ctx.attr",
        "ctx_var.get().request.attr",
    ),
    f"treadle ({READER}) LocalProxy(LocalStack).attr": ("proxy_stack.attr", "var.get().attr"),
    f"treadle ({READER}) LocalProxy(Local, 'obj').attr": ("proxy_local.attr", "var.get().attr"),
    "treadle (Python) LocalProxy(var).attr": ("proxy_var_py.attr", "var.get().attr"),
    "treadle (Python) LocalProxy(ctx_var, 'request').attr": (
        "proxy_ctx_py.attr",
        "ctx_var.get().request.attr",
    ),
    "werkzeug LocalProxy(var).attr": ("werkzeug_var.attr", "var.get().attr"),
    "werkzeug LocalProxy(ctx_var, 'request').attr": (
        "werkzeug_ctx.attr",
        "ctx_var.get().request.attr",
    ),
}


def _ns_per_op(statement: str, namespace: dict[str, object]) -> float:
    timer = timeit.Timer(statement, globals=namespace)
    return min(timer.repeat(repeat=REPEATS, number=LOOPS)) / LOOPS * 1e9


def main() -> dict[str, dict[str, float]]:
    """Time every case; return ns per op and the ratio to its direct read."""
    namespace = _setup()
    ns = {label: _ns_per_op(statement, namespace) for label, (statement, _) in CASES.items()}
    baselines = {baseline for _, baseline in CASES.values()}
    by_statement = {CASES[label][0]: ns[label] for label in ns}
    assert baselines <= by_statement.keys()
    ratio = {
        label: round(ns[label] / by_statement[baseline], 2)
        for label, (_, baseline) in CASES.items()
    }
    return {"ns_per_op": {k: round(v, 1) for k, v in ns.items()}, "ratio_to_direct_read": ratio}


if __name__ == "__main__":
    figures = main()
    width = max(map(len, CASES))
    print(f"{'case':<{width}}  {'ns/op':>8}  {'x direct read':>13}")
    for label in CASES:
        print(
            f"{label:<{width}}  {figures['ns_per_op'][label]:>8.1f}"
            f"  {figures['ratio_to_direct_read'][label]:>12.2f}x"
        )
