"""Local, LocalStack and LocalProxy: isolation per context and full forwarding."""

from __future__ import annotations

import asyncio
import copy
import math
import operator
import threading
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import greenlet
import pytest

import treadle.local
from treadle.local import Local, LocalProxy, LocalStack, release_local

READERS = ["python", "c"]


@pytest.fixture(autouse=True, params=READERS)
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test once with proxies that read attributes in Python and once in C."""
    if request.param == "c" and treadle.local.ProxyReader is None:
        pytest.skip("treadle._speedups was not built (no C compiler at install time)")
    monkeypatch.setattr(treadle.local, "reads_in_c", request.param == "c")
    return str(request.param)


def test_the_c_reader_is_built_here() -> None:
    # The suite's installs have a compiler: the fast path must exist where CI runs.
    assert treadle.local.ProxyReader is not None


def run_in_thread(fn: Callable[[], Any]) -> Any:
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(fn()))
    thread.start()
    thread.join(timeout=5)
    assert not thread.is_alive()
    return result[0]


class Thing:
    """A plain target object."""

    def __init__(self) -> None:
        self.value = 1

    def method(self) -> str:
        return "called"


# Local


def test_local_attribute_round_trip() -> None:
    local = Local()
    local.name = "x"
    assert local.name == "x"


def test_local_missing_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError):
        _ = Local().missing


def test_local_delete_removes_attribute() -> None:
    local = Local()
    local.name = "x"
    del local.name
    with pytest.raises(AttributeError):
        _ = local.name


def test_local_delete_missing_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="missing"):
        del Local().missing


def test_local_is_isolated_per_thread() -> None:
    local = Local()
    local.name = "main"
    assert run_in_thread(lambda: hasattr(local, "name")) is False

    def set_and_read() -> str:
        local.name = "thread"
        return str(local.name)

    assert run_in_thread(set_and_read) == "thread"
    assert local.name == "main"


def test_local_child_task_writes_do_not_leak_to_parent() -> None:
    local = Local()

    async def child() -> str:
        local.name = "child"
        return str(local.name)

    async def parent() -> tuple[str, str]:
        local.name = "parent"
        seen_in_child = await asyncio.create_task(child())
        return seen_in_child, local.name

    assert asyncio.run(parent()) == ("child", "parent")


def test_local_child_task_sees_parent_values() -> None:
    local = Local()

    async def parent() -> str:
        local.name = "parent"
        return await asyncio.create_task(_read_name(local))

    assert asyncio.run(parent()) == "parent"


async def _read_name(local: Local) -> str:
    return str(local.name)


def test_local_is_isolated_per_greenlet() -> None:
    local = Local()
    local.name = "main"

    def in_greenlet() -> tuple[bool, str]:
        had_value = hasattr(local, "name")
        local.name = "greenlet"
        return had_value, local.name

    assert greenlet.greenlet(in_greenlet).switch() == (False, "greenlet")
    assert local.name == "main"


def test_release_local_clears_current_context_only() -> None:
    local = Local()
    local.name = "main"

    def release_in_thread() -> bool:
        local.name = "thread"
        release_local(local)
        return hasattr(local, "name")

    assert run_in_thread(release_in_thread) is False
    assert local.name == "main"
    release_local(local)
    assert not hasattr(local, "name")


def test_iterating_a_local_yields_current_pairs() -> None:
    local = Local()
    local.a = 1
    local.b = 2
    assert sorted(local) == [("a", 1), ("b", 2)]


def test_iterating_an_empty_local_yields_nothing() -> None:
    assert list(Local()) == []


def test_local_can_use_a_given_context_var() -> None:
    var: ContextVar[dict[str, Any]] = ContextVar("test_local_given_var")
    local = Local(var)
    local.name = "x"
    assert var.get() == {"name": "x"}


def test_calling_a_local_returns_proxy_to_attribute() -> None:
    local = Local()
    proxy = local("name")
    local.name = Thing()
    assert proxy.value == 1
    assert isinstance(proxy, Thing)


def test_local_proxy_without_name_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="name"):
        LocalProxy(Local())


# LocalStack


def test_stack_push_returns_new_stack() -> None:
    stack: LocalStack[int] = LocalStack()
    assert stack.push(1) == [1]
    assert stack.push(2) == [1, 2]


def test_stack_pop_returns_top_then_none() -> None:
    stack: LocalStack[int] = LocalStack()
    stack.push(1)
    stack.push(2)
    assert stack.pop() == 2
    assert stack.pop() == 1
    assert stack.pop() is None


def test_stack_top_is_none_when_empty() -> None:
    stack: LocalStack[int] = LocalStack()
    assert stack.top is None
    stack.push(3)
    assert stack.top == 3


def test_stack_is_isolated_per_thread() -> None:
    stack: LocalStack[str] = LocalStack()
    stack.push("main")
    assert run_in_thread(lambda: stack.top) is None
    assert stack.top == "main"


def test_stack_push_in_child_task_does_not_leak_to_parent() -> None:
    stack: LocalStack[str] = LocalStack()

    async def child() -> str | None:
        stack.push("child")
        return stack.top

    async def parent() -> tuple[str | None, str | None]:
        stack.push("parent")
        seen = await asyncio.create_task(child())
        return seen, stack.top

    assert asyncio.run(parent()) == ("child", "parent")


def test_stack_pop_in_child_task_does_not_leak_to_parent() -> None:
    stack: LocalStack[str] = LocalStack()

    async def child() -> None:
        stack.pop()

    async def parent() -> str | None:
        stack.push("parent")
        await asyncio.create_task(child())
        return stack.top

    assert asyncio.run(parent()) == "parent"


def test_stack_is_isolated_per_greenlet() -> None:
    stack: LocalStack[str] = LocalStack()
    stack.push("main")
    assert greenlet.greenlet(lambda: stack.top).switch() is None


def test_release_local_empties_stack() -> None:
    stack: LocalStack[int] = LocalStack()
    stack.push(1)
    release_local(stack)
    assert stack.top is None


def test_calling_a_stack_returns_proxy_to_top() -> None:
    stack: LocalStack[Thing] = LocalStack()
    proxy = stack()
    stack.push(Thing())
    assert proxy.value == 1


def test_stack_proxy_with_name_reads_attribute_of_top() -> None:
    stack: LocalStack[Thing] = LocalStack()
    proxy = stack("value")
    stack.push(Thing())
    assert proxy == 1


def test_stack_proxy_follows_push_and_pop() -> None:
    stack: LocalStack[str] = LocalStack()
    proxy = stack()
    stack.push("a")
    stack.push("b")
    assert proxy == "b"
    stack.pop()
    assert proxy == "a"


# LocalProxy construction and binding


def test_proxy_over_context_var() -> None:
    var: ContextVar[Thing] = ContextVar("test_proxy_over_context_var")
    proxy = LocalProxy(var)
    var.set(Thing())
    assert proxy.value == 1


def test_proxy_over_context_var_with_name() -> None:
    var: ContextVar[Thing] = ContextVar("test_proxy_over_context_var_with_name")
    proxy = LocalProxy(var, "value")
    var.set(Thing())
    assert proxy == 1


@pytest.mark.parametrize("step", ["value", "class", "not an identifier", "1st"])
def test_proxy_over_context_var_reads_attributes_of_the_named_attribute(step: str) -> None:
    var: ContextVar[Any] = ContextVar("test_named_step")
    holder = type("Holder", (), {})()
    setattr(holder, step, Thing())
    var.set(holder)
    assert LocalProxy(var, step).value == 1


def test_proxy_over_callable() -> None:
    target = Thing()
    proxy = LocalProxy(lambda: target)
    assert proxy.value == 1
    assert proxy._get_current_object() is target


def test_proxy_over_callable_with_name() -> None:
    proxy = LocalProxy(Thing, "value")
    assert proxy + 1 == 2


def test_subscripted_proxy_class_builds_unbound_proxy() -> None:
    proxy = LocalProxy[int](unbound_var())
    assert repr(proxy) == "<LocalProxy unbound>"


def test_proxy_of_unsupported_object_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="ContextVar"):
        LocalProxy(42)  # type: ignore[arg-type]


def test_get_current_object_returns_target() -> None:
    var: ContextVar[Thing] = ContextVar("test_get_current_object_returns_target")
    target = Thing()
    var.set(target)
    assert LocalProxy(var)._get_current_object() is target


def test_proxy_follows_each_context_var_value() -> None:
    var: ContextVar[int] = ContextVar("test_proxy_follows_each_value")
    proxy = LocalProxy(var)
    var.set(1)
    assert run_in_thread(lambda: (var.set(2), proxy + 0)[1]) == 2
    assert proxy == 1


def test_proxy_is_isinstance_of_target_class() -> None:
    proxy = LocalProxy(Thing)
    assert isinstance(proxy, Thing)
    assert proxy.__class__ is Thing


def test_proxy_is_isinstance_of_local_proxy() -> None:
    assert isinstance(LocalProxy(Thing), LocalProxy)


def test_proxy_forwards_doc() -> None:
    assert LocalProxy(Thing).__doc__ == "A plain target object."


def test_proxy_forwards_wrapped_when_bound() -> None:
    def inner() -> None:
        """Inner."""

    def outer() -> None:
        """Outer."""

    outer.__wrapped__ = inner  # type: ignore[attr-defined]
    assert LocalProxy(lambda: outer).__wrapped__ is inner


# Unbound proxies


def unbound_var() -> ContextVar[Any]:
    return ContextVar("test_unbound")


def test_unbound_proxy_default_message_names_what_is_unbound() -> None:
    proxy = LocalProxy(unbound_var())
    with pytest.raises(RuntimeError, match=r"object is not bound: ContextVar 'test_unbound'"):
        _ = proxy.value


def test_unbound_proxy_uses_given_message() -> None:
    proxy = LocalProxy(unbound_var(), unbound_message="Working outside of request context.")
    with pytest.raises(RuntimeError, match=r"^Working outside of request context\.$"):
        _ = proxy.value


def test_unbound_proxy_get_current_object_raises_runtime_error() -> None:
    with pytest.raises(RuntimeError):
        LocalProxy(unbound_var())._get_current_object()


def test_unbound_stack_proxy_raises_runtime_error() -> None:
    with pytest.raises(RuntimeError, match="LocalStack is empty"):
        _ = LocalStack[Thing]()().value


def test_unbound_local_proxy_raises_runtime_error() -> None:
    with pytest.raises(RuntimeError, match="'name'"):
        _ = Local()("name").value


def test_unbound_proxy_operations_raise_runtime_error() -> None:
    proxy = LocalProxy(unbound_var())
    with pytest.raises(RuntimeError):
        _ = proxy + 1
    with pytest.raises(RuntimeError):
        proxy.x = 1


def test_unbound_proxy_repr_says_unbound() -> None:
    assert repr(LocalProxy(unbound_var())) == "<LocalProxy unbound>"


def test_unbound_proxy_is_falsy() -> None:
    assert not LocalProxy(unbound_var())


def test_unbound_proxy_dir_is_empty() -> None:
    assert dir(LocalProxy(unbound_var())) == []


def test_unbound_proxy_class_is_local_proxy() -> None:
    proxy = LocalProxy(unbound_var())
    assert issubclass(proxy.__class__, LocalProxy)
    assert not isinstance(proxy, Thing)


def test_unbound_proxy_doc_is_local_proxy_doc() -> None:
    assert LocalProxy(unbound_var()).__doc__ == LocalProxy.__doc__


def test_unbound_proxy_wrapped_is_the_local() -> None:
    var = unbound_var()
    assert LocalProxy(var).__wrapped__ is var


def test_bound_proxy_re_raises_targets_attribute_error() -> None:
    with pytest.raises(AttributeError, match="missing"):
        _ = LocalProxy(Thing).missing


def test_bound_proxy_re_raises_targets_lookup_error() -> None:
    class Raises:
        @property
        def item(self) -> None:
            raise KeyError("item")

    with pytest.raises(KeyError):
        _ = LocalProxy(Raises).item


def test_proxy_with_name_missing_on_bound_object_raises_attribute_error() -> None:
    var: ContextVar[Thing] = ContextVar("test_name_missing")
    var.set(Thing())
    with pytest.raises(AttributeError):
        _ = LocalProxy(var, "missing").anything


# Forwarded operations (each against a real target)


def proxy_of(value: Any) -> Any:
    var: ContextVar[Any] = ContextVar("test_forwarding")
    var.set(value)
    return LocalProxy(var)


def test_set_attribute_is_forwarded() -> None:
    target = Thing()
    proxy = proxy_of(target)
    proxy.value = 5
    assert target.value == 5


def test_delete_attribute_is_forwarded() -> None:
    target = Thing()
    proxy = proxy_of(target)
    del proxy.value
    assert not hasattr(target, "value")


def test_method_call_is_forwarded() -> None:
    assert proxy_of(Thing()).method() == "called"


def test_call_is_forwarded() -> None:
    assert proxy_of(lambda a, b=0: a + b)(1, b=2) == 3


def test_item_get_set_delete_are_forwarded() -> None:
    target = {"a": 1}
    proxy = proxy_of(target)
    assert proxy["a"] == 1
    proxy["b"] = 2
    del proxy["a"]
    assert target == {"b": 2}


def test_len_iter_contains_reversed_are_forwarded() -> None:
    proxy = proxy_of([1, 2, 3])
    assert len(proxy) == 3
    assert list(proxy) == [1, 2, 3]
    assert 2 in proxy
    assert list(reversed(proxy)) == [3, 2, 1]


def test_next_is_forwarded() -> None:
    assert next(proxy_of(iter([7]))) == 7


def test_bool_is_forwarded() -> None:
    assert not proxy_of([])
    assert proxy_of([0])


def test_comparisons_are_forwarded() -> None:
    proxy = proxy_of(5)
    assert proxy == 5
    assert proxy != 4
    assert proxy < 6
    assert proxy <= 5
    assert proxy > 4
    assert proxy >= 5


def test_hash_is_forwarded() -> None:
    assert hash(proxy_of("key")) == hash("key")


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (lambda p: p + 2, 9),
        (lambda p: p - 2, 5),
        (lambda p: p * 2, 14),
        (lambda p: p / 2, 3.5),
        (lambda p: p // 2, 3),
        (lambda p: p % 4, 3),
        (lambda p: divmod(p, 2), (3, 1)),
        (lambda p: p**2, 49),
        (lambda p: pow(p, 2, 5), 4),
        (lambda p: p << 1, 14),
        (lambda p: p >> 1, 3),
        (lambda p: p & 3, 3),
        (lambda p: p ^ 1, 6),
        (lambda p: p | 8, 15),
    ],
)
def test_arithmetic_is_forwarded(expression: Callable[[Any], Any], expected: Any) -> None:
    assert expression(proxy_of(7)) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (lambda p: 2 + p, 9),
        (lambda p: 10 - p, 3),
        (lambda p: 2 * p, 14),
        (lambda p: 14 / p, 2.0),
        (lambda p: 15 // p, 2),
        (lambda p: 15 % p, 1),
        (lambda p: divmod(15, p), (2, 1)),
        (lambda p: 2**p, 128),
        (lambda p: 1 << p, 128),
        (lambda p: 256 >> p, 2),
        (lambda p: 15 & p, 7),
        (lambda p: 1 ^ p, 6),
        (lambda p: 8 | p, 15),
    ],
)
def test_reflected_arithmetic_is_forwarded(expression: Callable[[Any], Any], expected: Any) -> None:
    assert expression(proxy_of(7)) == expected


def test_matmul_and_reflected_matmul_are_forwarded() -> None:
    class Matrix:
        def __matmul__(self, other: Any) -> str:
            return "matmul"

        def __rmatmul__(self, other: Any) -> str:
            return "rmatmul"

    proxy = proxy_of(Matrix())
    assert proxy @ 1 == "matmul"
    assert 1 @ proxy == "rmatmul"


def test_in_place_op_mutates_mutable_target_and_keeps_proxy() -> None:
    target = [1]
    proxy = proxy_of(target)
    original = proxy
    proxy += [2]
    assert proxy is original
    assert target == [1, 2]


def test_in_place_op_on_immutable_target_gives_new_value() -> None:
    proxy = proxy_of(3)
    proxy += 1
    assert proxy == 4
    assert not isinstance(proxy, LocalProxy)


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        (lambda s: operator.isub(s, {1}), {2, 3}),
        (lambda s: operator.iand(s, {2}), {2}),
        (lambda s: operator.ior(s, {4}), {1, 2, 3, 4}),
        (lambda s: operator.ixor(s, {1, 5}), {2, 3, 5}),
    ],
)
def test_in_place_set_ops_mutate_target_and_return_proxy(operation: Callable[[Any], Any], expected: Any) -> None:
    target = {1, 2, 3}
    proxy = proxy_of(target)
    assert operation(proxy) is proxy
    assert target == expected


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        (lambda p: operator.iadd(p, 1), 8),
        (lambda p: operator.isub(p, 1), 6),
        (lambda p: operator.imul(p, 2), 14),
        (lambda p: operator.itruediv(p, 2), 3.5),
        (lambda p: operator.ifloordiv(p, 2), 3),
        (lambda p: operator.imod(p, 4), 3),
        (lambda p: operator.ipow(p, 2), 49),
        (lambda p: operator.ilshift(p, 1), 14),
        (lambda p: operator.irshift(p, 1), 3),
        (lambda p: operator.iand(p, 3), 3),
        (lambda p: operator.ior(p, 8), 15),
        (lambda p: operator.ixor(p, 1), 6),
    ],
)
def test_in_place_numeric_ops_are_forwarded(operation: Callable[[Any], Any], expected: Any) -> None:
    assert operation(proxy_of(7)) == expected


def test_in_place_matmul_is_forwarded() -> None:
    class Matrix:
        def __imatmul__(self, other: Any) -> str:
            return "imatmul"

    proxy: Any = proxy_of(Matrix())
    proxy @= 1
    assert proxy == "imatmul"


def test_unary_ops_and_conversions_are_forwarded() -> None:
    proxy = proxy_of(-2.5)
    assert -proxy == 2.5
    assert +proxy == -2.5
    assert abs(proxy) == 2.5
    assert int(proxy) == -2
    assert float(proxy) == -2.5
    assert complex(proxy) == complex(-2.5)
    assert round(proxy) == -2
    assert round(proxy, 1) == -2.5
    assert math.trunc(proxy) == -2
    assert math.floor(proxy) == -3
    assert math.ceil(proxy) == -2


def test_invert_and_index_are_forwarded() -> None:
    proxy = proxy_of(2)
    assert ~proxy == -3
    assert [10, 20, 30][proxy] == 30


def test_repr_str_bytes_format_are_forwarded() -> None:
    assert repr(proxy_of("s")) == "'s'"
    assert str(proxy_of(12)) == "12"
    assert bytes(proxy_of(b"ab")) == b"ab"
    assert f"{proxy_of(3.14159):.2f}" == "3.14"


def test_dir_is_forwarded() -> None:
    assert "method" in dir(proxy_of(Thing()))


def test_instance_and_subclass_checks_against_proxied_class() -> None:
    proxy = proxy_of(Thing)
    assert isinstance(Thing(), proxy)
    assert issubclass(Thing, proxy)


def test_length_hint_is_forwarded() -> None:
    assert operator.length_hint(proxy_of(iter(range(4)))) == 4


def test_context_manager_is_forwarded() -> None:
    class Manager:
        exited: tuple[Any, ...] = ()

        def __enter__(self) -> str:
            return "entered"

        def __exit__(self, *exc: Any) -> None:
            self.exited = exc

    target = Manager()
    with proxy_of(target) as value:
        assert value == "entered"
    assert target.exited == (None, None, None)


def test_await_is_forwarded() -> None:
    async def main() -> int:
        future = asyncio.get_running_loop().create_future()
        future.set_result(5)
        return int(await proxy_of(future))

    assert asyncio.run(main()) == 5


def test_async_iteration_and_async_context_manager_are_forwarded() -> None:
    class Async:
        def __aiter__(self) -> Async:
            self.left = 2
            return self

        async def __anext__(self) -> int:
            if not self.left:
                raise StopAsyncIteration
            self.left -= 1
            return self.left

        async def __aenter__(self) -> str:
            return "in"

        async def __aexit__(self, *exc: Any) -> None:
            return None

    async def main() -> tuple[list[int], str]:
        proxy = proxy_of(Async())
        async with proxy as entered:
            return [item async for item in proxy], entered

    assert asyncio.run(main()) == ([1, 0], "in")


def test_copy_and_deepcopy_copy_the_target() -> None:
    target = {"a": [1]}
    shallow = copy.copy(proxy_of(target))
    deep = copy.deepcopy(proxy_of(target))
    assert shallow == target and shallow is not target
    assert deep["a"] is not target["a"]


def test_proxy_of_proxy_unwraps_to_real_object() -> None:
    target = Thing()
    inner = proxy_of(target)
    outer = LocalProxy(lambda: inner)
    assert outer.value == 1
    assert outer._get_current_object() is target


def test_no_speedups_in_the_environment_means_the_python_reader() -> None:
    import subprocess
    import sys

    code = "import treadle.local as l; print(l.ProxyReader is None, l.reads_in_c)"
    env = {"TREADLE_NO_SPEEDUPS": "1", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env=env, check=True)  # fmt: skip
    assert done.stdout.split() == ["True", "False"]
