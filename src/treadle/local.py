"""Context-local storage: Local, LocalStack and LocalProxy on contextvars.

Values are isolated per thread, greenlet and asyncio task because they live in
a ContextVar; stored dicts and lists are never mutated, only replaced
(copy-on-write), so a child task's writes never leak into its parent.

``proxy.attr``, the hot path, runs in C when the optional ``treadle._speedups``
extension was built (about as fast as ``var.get().attr``); otherwise, or with
``TREADLE_NO_SPEEDUPS=1`` in the environment, in Python, with the same behaviour.
"""

from __future__ import annotations

import copy
import math
import operator
import os
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from keyword import iskeyword
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

__all__ = ["Local", "LocalProxy", "LocalStack", "release_local"]

T = TypeVar("T")

_Get = Callable[[], Any]
_Step = str | int | None

if TYPE_CHECKING or os.environ.get("TREADLE_NO_SPEEDUPS"):
    ProxyReader: Any = None
else:
    try:
        from treadle._speedups import ProxyReader
    except ImportError:  # built without a C compiler: the pure-Python reader below
        ProxyReader = None

# Whether new proxies read attributes in C; tests switch it to cover both readers.
reads_in_c = ProxyReader is not None

_NO_VALUES: dict[str, Any] = {}
_NO_ITEMS: list[Any] = []


def release_local(local: Local | LocalStack[Any]) -> None:
    """Forget every value the current context holds in ``local``."""
    local.__release_local__()


class Local:
    """A namespace whose attributes belong to the current context.

    Stored values come first on lookup: what you set is what you read back.
    """

    __slots__ = ("__storage",)

    def __init__(self, context_var: ContextVar[dict[str, Any]] | None = None) -> None:
        if context_var is None:
            context_var = ContextVar(f"treadle.Local<{id(self)}>.storage")
        object.__setattr__(self, "_Local__storage", context_var)

    def __getattribute__(self, name: str) -> Any:
        values = _local_storage(self).get(_NO_VALUES)
        try:
            return values[name]
        except KeyError:
            return object.__getattribute__(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        storage = _local_storage(self)
        values = storage.get(_NO_VALUES).copy()
        values[name] = value
        storage.set(values)

    def __delattr__(self, name: str) -> None:
        storage = _local_storage(self)
        values = storage.get(_NO_VALUES)
        if name not in values:
            raise AttributeError(f"{name!r} is not set on this Local in the current context")
        values = values.copy()
        del values[name]
        storage.set(values)

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        return iter(_local_storage(self).get(_NO_VALUES).items())

    def __call__(self, name: str, *, unbound_message: str | None = None) -> LocalProxy[Any]:
        """Return a proxy to attribute ``name`` of this local."""
        return LocalProxy(self, name, unbound_message=unbound_message)

    def __release_local__(self) -> None:
        _local_storage(self).set({})


# The slot's own descriptor: reading storage must not re-enter __getattribute__.
_local_storage: Callable[[Local], ContextVar[dict[str, Any]]] = Local.__dict__[
    "_Local__storage"
].__get__


class LocalStack(Generic[T]):
    """A stack whose contents belong to the current context."""

    __slots__ = ("_storage",)

    def __init__(self, context_var: ContextVar[list[T]] | None = None) -> None:
        if context_var is None:
            context_var = ContextVar(f"treadle.LocalStack<{id(self)}>.storage")
        self._storage = context_var

    def __release_local__(self) -> None:
        self._storage.set([])

    def push(self, obj: T) -> list[T]:
        """Put ``obj`` on top and return the new stack."""
        stack = [*self._storage.get(_NO_ITEMS), obj]
        self._storage.set(stack)
        return stack

    def pop(self) -> T | None:
        """Remove and return the top item, or None if the stack is empty."""
        stack: list[T] = self._storage.get(_NO_ITEMS)
        if not stack:
            return None
        self._storage.set(stack[:-1])
        return stack[-1]

    @property
    def top(self) -> T | None:
        """The top item, or None if the stack is empty."""
        stack = self._storage.get(_NO_ITEMS)
        return stack[-1] if stack else None

    def __call__(
        self, name: str | None = None, *, unbound_message: str | None = None
    ) -> LocalProxy[Any]:
        """Return a proxy to the top item (or to its attribute ``name``)."""
        return LocalProxy(self, name, unbound_message=unbound_message)


def _unary(op: Callable[[Any], Any]) -> Callable[[LocalProxy[Any]], Any]:
    def method(self: LocalProxy[Any]) -> Any:
        return op(type(self)._getter())

    return method


def _binary(op: Callable[[Any, Any], Any]) -> Callable[[LocalProxy[Any], Any], Any]:
    def method(self: LocalProxy[Any], other: Any) -> Any:
        return op(type(self)._getter(), other)

    return method


def _reflected(op: Callable[[Any, Any], Any]) -> Callable[[LocalProxy[Any], Any], Any]:
    def method(self: LocalProxy[Any], other: Any) -> Any:
        return op(other, type(self)._getter())

    return method


def _in_place(op: Callable[[Any, Any], Any]) -> Callable[[LocalProxy[Any], Any], Any]:
    """``proxy += x`` mutates a mutable target and keeps the name on the proxy;
    an immutable target yields the new value, as ``+=`` does anywhere."""

    def method(self: LocalProxy[Any], other: Any) -> Any:
        obj = type(self)._getter()
        result = op(obj, other)
        return self if result is obj else result

    return method


def _special(name: str) -> Callable[..., Any]:
    """Forward a protocol method that has no builtin function of its own."""

    def method(self: LocalProxy[Any], *args: Any) -> Any:
        return getattr(type(self)._getter(), name)(*args)

    return method


if TYPE_CHECKING or ProxyReader is None:

    class _ReaderBase:
        """Stands in for the C reader when it is not built: proxies read in Python."""

        __slots__ = ()

else:
    _ReaderBase = ProxyReader


class LocalProxy(_ReaderBase, Generic[T]):
    """Forward every operation to the object a context local currently holds.

    ``local`` is a ContextVar, a LocalStack (its top), a Local together with
    ``name``, or a zero-argument callable. With ``name`` the proxy points at
    that attribute of the object. Each proxy gets its own small subclass whose
    ``__getattribute__`` closes over the lookup, so ``proxy.attr`` costs one
    Python call instead of a chain of descriptors.
    """

    __slots__ = ()

    # Set on each proxy's own class by __new__.
    _getter: ClassVar[Callable[[], Any]]
    _wrapped_local: ClassVar[Any]

    def __new__(
        cls,
        local: ContextVar[T] | Local | LocalStack[T] | Callable[[], T],
        name: str | None = None,
        *,
        unbound_message: str | None = None,
    ) -> LocalProxy[T]:
        get, step, by_item, what = _lookup_parts(local, name)
        message = None if what is None else unbound_message or f"object is not bound: {what}"
        namespace: dict[str, Any] = {
            "__slots__": (),
            "__doc__": cls.__doc__,
            "__module__": cls.__module__,
            "__qualname__": cls.__qualname__,
            "_getter": staticmethod(_current_object(get, step, by_item, message)),
            "_wrapped_local": local,
        }
        in_c = reads_in_c
        if not in_c:
            namespace["__getattribute__"] = _attribute_reader(get, step, by_item)
        proxy_class = type(cls.__name__, (cls,), namespace)
        proxy: LocalProxy[T] = object.__new__(proxy_class)
        if in_c:
            source = getattr(get, "__self__", None)
            source_is_var = isinstance(source, ContextVar) and get.__name__ == "get"
            ProxyReader._set_up(proxy, source if source_is_var else get, source_is_var,
                                step, by_item, _recover_raised)  # fmt: skip
        return proxy

    def _get_current_object(self) -> T:
        """Return the real object behind the proxy (fully unwrapped).

        Use it to hand the object to code that must not see a proxy, or to
        skip the proxy when touching the object many times in a row.
        """
        return type(self)._getter()  # type: ignore[no-any-return]  # pragma: no cover

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "__orig_class__":  # set by LocalProxy[T](...); typing detail, not data
            return
        setattr(type(self)._getter(), name, value)

    def __delattr__(self, name: str) -> None:
        delattr(type(self)._getter(), name)

    def __repr__(self) -> str:
        try:
            obj = type(self)._getter()
        except RuntimeError:
            return f"<{type(self).__name__} unbound>"
        return repr(obj)

    def __bool__(self) -> bool:
        try:
            obj = type(self)._getter()
        except RuntimeError:
            return False
        return bool(obj)

    def __dir__(self) -> list[str]:
        try:
            obj = type(self)._getter()
        except RuntimeError:
            return []
        return dir(obj)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return type(self)._getter()(*args, **kwargs)

    def __round__(self, ndigits: int | None = None) -> Any:
        return round(type(self)._getter(), ndigits)

    def __pow__(self, other: Any, modulo: Any = None) -> Any:
        if modulo is None:
            return type(self)._getter() ** other
        return pow(type(self)._getter(), other, modulo)

    def __setitem__(self, key: Any, value: Any) -> None:
        type(self)._getter()[key] = value

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return copy.deepcopy(type(self)._getter(), memo)

    if TYPE_CHECKING:  # the real one is each proxy class's __getattribute__

        def __getattr__(self, name: str) -> Any: ...

    # How every other special method reaches the target: one row each.
    __str__ = _unary(str)
    __bytes__ = _unary(bytes)
    __format__ = _binary(format)
    __hash__ = _unary(hash)
    __len__ = _unary(len)
    __length_hint__ = _unary(operator.length_hint)
    __iter__ = _unary(iter)
    __next__ = _unary(next)
    __reversed__ = _unary(reversed)
    __contains__ = _binary(operator.contains)
    __getitem__ = _binary(operator.getitem)
    __delitem__ = _binary(operator.delitem)
    __instancecheck__ = _reflected(isinstance)
    __subclasscheck__ = _reflected(issubclass)
    __copy__ = _unary(copy.copy)
    __enter__ = _special("__enter__")
    __exit__ = _special("__exit__")
    __await__ = _special("__await__")
    __aiter__ = _special("__aiter__")
    __anext__ = _special("__anext__")
    __aenter__ = _special("__aenter__")
    __aexit__ = _special("__aexit__")
    __lt__ = _binary(operator.lt)
    __le__ = _binary(operator.le)
    __eq__ = _binary(operator.eq)
    __ne__ = _binary(operator.ne)
    __gt__ = _binary(operator.gt)
    __ge__ = _binary(operator.ge)
    __neg__ = _unary(operator.neg)
    __pos__ = _unary(operator.pos)
    __abs__ = _unary(abs)
    __invert__ = _unary(operator.invert)
    __complex__ = _unary(complex)
    __int__ = _unary(int)
    __float__ = _unary(float)
    __index__ = _unary(operator.index)
    __trunc__ = _unary(math.trunc)
    __floor__ = _unary(math.floor)
    __ceil__ = _unary(math.ceil)
    __add__ = _binary(operator.add)
    __sub__ = _binary(operator.sub)
    __mul__ = _binary(operator.mul)
    __matmul__ = _binary(operator.matmul)
    __truediv__ = _binary(operator.truediv)
    __floordiv__ = _binary(operator.floordiv)
    __mod__ = _binary(operator.mod)
    __divmod__ = _binary(divmod)
    __lshift__ = _binary(operator.lshift)
    __rshift__ = _binary(operator.rshift)
    __and__ = _binary(operator.and_)
    __xor__ = _binary(operator.xor)
    __or__ = _binary(operator.or_)
    __radd__ = _reflected(operator.add)
    __rsub__ = _reflected(operator.sub)
    __rmul__ = _reflected(operator.mul)
    __rmatmul__ = _reflected(operator.matmul)
    __rtruediv__ = _reflected(operator.truediv)
    __rfloordiv__ = _reflected(operator.floordiv)
    __rmod__ = _reflected(operator.mod)
    __rdivmod__ = _reflected(divmod)
    __rpow__ = _reflected(pow)
    __rlshift__ = _reflected(operator.lshift)
    __rrshift__ = _reflected(operator.rshift)
    __rand__ = _reflected(operator.and_)
    __rxor__ = _reflected(operator.xor)
    __ror__ = _reflected(operator.or_)
    __iadd__ = _in_place(operator.iadd)
    __isub__ = _in_place(operator.isub)
    __imul__ = _in_place(operator.imul)
    __imatmul__ = _in_place(operator.imatmul)
    __itruediv__ = _in_place(operator.itruediv)
    __ifloordiv__ = _in_place(operator.ifloordiv)
    __imod__ = _in_place(operator.imod)
    __ipow__ = _in_place(operator.ipow)
    __ilshift__ = _in_place(operator.ilshift)
    __irshift__ = _in_place(operator.irshift)
    __iand__ = _in_place(operator.iand)
    __ixor__ = _in_place(operator.ixor)
    __ior__ = _in_place(operator.ior)


def _lookup_parts(local: Any, name: str | None) -> tuple[_Get, _Step, bool, str | None]:
    """Split a proxy's lookup into ``get()`` plus an optional step into the result.

    The step is an item key (``by_item``) or an attribute name, or None. The
    last part says what is unbound, or is None when nothing can be (callables).
    """
    if isinstance(local, Local):
        if name is None:
            raise TypeError("LocalProxy(local, name): a Local needs the attribute name to proxy")
        return _local_storage(local).get, name, True, f"no {name!r} on the Local"
    if isinstance(local, LocalStack):
        what = "the LocalStack is empty"
        if name is None:
            return local._storage.get, -1, True, what
        return _stack_top(local._storage), name, False, what
    if isinstance(local, ContextVar):
        return local.get, name, False, f"ContextVar {local.name!r} has no value in this context"
    if callable(local):
        return local, name, False, None
    raise TypeError(
        f"LocalProxy can proxy a ContextVar, Local, LocalStack or zero-argument callable,"
        f" not {type(local).__name__!r}"
    )


def _stack_top(storage: ContextVar[list[Any]]) -> _Get:
    get = storage.get

    def top() -> Any:
        return get()[-1]

    return top


def _current_object(get: _Get, step: _Step, by_item: bool, message: str | None) -> _Get:
    """Build ``_get_current_object``; with a message, a missing value raises it."""
    if message is None:  # a callable: its own errors are the caller's to see
        if step is None:
            return get
        return _then(get, operator.attrgetter(str(step)))
    pick: Callable[[Any], Any] | None
    if step is None:
        pick = None
    elif by_item:
        pick = operator.itemgetter(step)
    else:
        pick = operator.attrgetter(str(step))

    def current() -> Any:
        try:
            obj = get()
            return obj if pick is None else pick(obj)
        except LookupError:
            raise RuntimeError(message) from None

    return current


def _then(get: _Get, pick: Callable[[Any], Any]) -> _Get:
    def current() -> Any:
        return pick(get())

    return current


def _attribute_reader(
    get: _Get, step: _Step, by_item: bool
) -> Callable[[LocalProxy[Any], str], Any]:
    """Build the proxy's ``__getattribute__``: the one hot path, one variant per shape.

    No sentinel checks: an unbound local shows up as LookupError (free to
    guard against in 3.11+) and is sorted out in ``_recover``.
    """
    if step is None:

        def __getattribute__(self: LocalProxy[Any], name: str) -> Any:
            try:
                return getattr(get(), name)
            except (LookupError, AttributeError):
                return _recover(self, name)

        return __getattribute__

    if by_item:

        def __getattribute_of_item__(self: LocalProxy[Any], name: str) -> Any:
            try:
                return getattr(get()[step], name)
            except (LookupError, AttributeError):
                return _recover(self, name)

        return __getattribute_of_item__

    if isinstance(step, str) and step.isidentifier() and not iskeyword(step):
        return _literal_step_reader(get, step)

    def __getattribute_of_attribute__(self: LocalProxy[Any], name: str) -> Any:
        try:
            return getattr(getattr(get(), step), name)  # type: ignore[arg-type]
        except (LookupError, AttributeError):
            return _recover(self, name)

    return __getattribute_of_attribute__


# ``get().request`` compiles to an attribute load the interpreter specialises, where
# ``getattr(get(), step)`` is a builtin call: about 20 ns less on every ``request.x``.
_LITERAL_STEP_SOURCE = """\
def __getattribute_of_attribute__(self, name):
    try:
        return getattr(get().{step}, name)
    except (LookupError, AttributeError):
        return _recover(self, name)
"""


def _literal_step_reader(get: _Get, step: str) -> Callable[[LocalProxy[Any], str], Any]:
    """The attribute-step reader with ``step`` written into its code (an identifier)."""
    namespace: dict[str, Any] = {"get": get, "_recover": _recover}
    exec(_LITERAL_STEP_SOURCE.format(step=step), namespace)
    reader: Callable[[LocalProxy[Any], str], Any] = namespace["__getattribute_of_attribute__"]
    return reader


_UNBOUND_ATTRIBUTES: dict[str, Callable[[LocalProxy[Any]], Any]] = {
    "__class__": type,
    "__doc__": lambda proxy: type(proxy).__doc__,
    "__wrapped__": lambda proxy: type(proxy)._wrapped_local,
    "_get_current_object": lambda proxy: type(proxy)._getter,
}


def _recover_raised(proxy: LocalProxy[Any], name: str, error: BaseException) -> Any:
    """The C reader's slow path: ``_recover`` with the error passed in, not being handled."""
    try:
        raise error
    except BaseException:
        return _recover(proxy, name)
    finally:
        del error  # no reference cycle through this frame


def _recover(proxy: LocalProxy[Any], name: str) -> Any:
    """Slow path of attribute lookup, called while its error is being handled.

    An unbound proxy still answers ``__class__``, ``__doc__``, ``__wrapped__``
    and ``_get_current_object``; anything else raises the unbound RuntimeError.
    A bound proxy re-raises the target's own error.
    """
    getter = type(proxy)._getter
    try:
        getter()
    except RuntimeError:
        fallback = _UNBOUND_ATTRIBUTES.get(name)
        if fallback is None:
            raise
        return fallback(proxy)
    if name == "_get_current_object":
        return getter
    raise  # the target's own error, which the caller is handling
