"""Context locals under 32 threads, with asyncio tasks on event loops in half of them.

Each worker writes values of its own into a Local, a LocalStack and a ContextVar behind a
LocalProxy, yields, and reads them back many times: a value from another thread or task is a
failure. Runs in the normal suite and, in CI, on 3.13t with the GIL off and on.
"""

from __future__ import annotations

import asyncio
import os
from contextvars import ContextVar
from typing import Any

from hammer import run_clients, widen_race_window

from treadle.local import Local, LocalProxy, LocalStack, release_local

THREADS = 32
TASKS_PER_LOOP = 20
ROUNDS = 200

local = Local()
stack: LocalStack[str] = LocalStack()
current: ContextVar[dict[str, str]] = ContextVar("current")
current_proxy: Any = LocalProxy(current)
stack_top: Any = LocalProxy(stack)
local_value: Any = local("value")


def exercise(owner: str) -> None:
    """Write this owner's values, then check them ROUNDS times with yields in between."""
    local.value = owner
    stack.push(owner)
    stack.push(f"{owner}/inner")
    current.set({"owner": owner})
    for round_ in range(ROUNDS):
        widen_race_window(10)
        assert local.value == owner, (owner, local.value)
        assert local_value == owner
        assert stack.top == f"{owner}/inner" and stack_top == f"{owner}/inner"
        assert current_proxy["owner"] == owner
        assert current_proxy.get("owner") == owner
        if round_ % 50 == 0:
            os.sched_yield()
    assert stack.pop() == f"{owner}/inner"
    assert stack.pop() == owner
    assert stack.top is None
    release_local(local)
    assert not hasattr(local, "value")


async def task(owner: str) -> None:
    local.value = owner
    current.set({"owner": owner})
    for _ in range(ROUNDS // 4):
        await asyncio.sleep(0)  # hand over to the loop's other tasks, the point of this test
        assert local.value == owner and local_value == owner
        assert current_proxy["owner"] == owner


async def many_tasks(thread_owner: str) -> None:
    local.value = thread_owner
    await asyncio.gather(*(task(f"{thread_owner}:t{i}") for i in range(TASKS_PER_LOOP)))
    assert local.value == thread_owner  # a child task's writes never reach its parent


def test_locals_keep_each_thread_and_task_apart() -> None:
    def work(index: int) -> None:
        owner = f"thread{index}"
        if index % 2:
            asyncio.run(many_tasks(owner))
        exercise(owner)

    errors = run_clients(THREADS, work)
    assert not errors, errors[:3]
