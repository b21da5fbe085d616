"""Build-once attributes that stay build-once without the GIL.

``functools.cached_property`` lost its lock in Python 3.12, so two threads that reach it
first at the same time each build the value and one result is thrown away. That is fine for
a name, not for an object that requests hold on to (the Jinja environment with its template
cache): on free-threaded CPython the race is real. This property takes a lock only while the
value is missing; once built it is an ordinary instance attribute and costs nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


class locked_cached_property(Generic[T]):
    """Like ``functools.cached_property``, but the getter runs once per instance."""

    def __init__(self, getter: Callable[[Any], T]) -> None:
        self.getter = getter
        self.__doc__ = getter.__doc__
        self.name = getter.__name__
        self.lock = threading.RLock()

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> locked_cached_property[T]: ...
    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> Any:
        if instance is None:
            return self
        values = instance.__dict__
        with self.lock:
            if self.name not in values:
                values[self.name] = self.getter(instance)
            return values[self.name]
