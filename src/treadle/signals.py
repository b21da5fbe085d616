"""Flask's signals (request_started, template_rendered, ...), on a small blinker-compatible Signal.

No dependency: a Signal keeps weak references to receivers, optionally per sender, and
``send`` calls them in connection order. The app checks ``signal.receivers`` before sending,
so signals nobody listens to cost one attribute test per emission point.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = [
    "ANY",
    "Namespace",
    "Signal",
    "appcontext_popped",
    "appcontext_pushed",
    "appcontext_tearing_down",
    "before_render_template",
    "got_request_exception",
    "message_flashed",
    "request_finished",
    "request_started",
    "request_tearing_down",
    "template_rendered",
]


class _AnySender:
    def __repr__(self) -> str:
        return "ANY"


ANY: Any = _AnySender()

Receiver = Callable[..., Any]


def _reference(receiver: Receiver, weak: bool, on_dead: Callable[[Any], None]) -> Callable[[], Receiver | None]:
    if not weak:
        return lambda: receiver
    if hasattr(receiver, "__self__") and hasattr(receiver, "__func__"):
        return weakref.WeakMethod(receiver, on_dead)
    return weakref.ref(receiver, on_dead)


def _receiver_key(receiver: Receiver) -> Any:
    # A bound method is a new object on each attribute access: key it by (instance, function).
    if hasattr(receiver, "__self__") and hasattr(receiver, "__func__"):
        return (id(receiver.__self__), id(receiver.__func__))
    return id(receiver)


class Signal:
    """A named event that receivers connect to; ``send(sender, **kwargs)`` notifies them."""

    def __init__(self, name: str | None = None, doc: str | None = None) -> None:
        self.name = name
        self.__doc__ = doc
        # (receiver key, sender id) -> (reference to receiver, sender or ANY), in call order.
        self.receivers: dict[tuple[Any, int], tuple[Callable[[], Receiver | None], Any]] = {}

    def connect(self, receiver: Receiver, sender: Any = ANY, weak: bool = True) -> Receiver:
        """Call ``receiver(sender, **kwargs)`` on each send (from ``sender`` only, if given)."""
        key = (_receiver_key(receiver), id(sender))

        def forget(_ref: Any) -> None:
            self.receivers.pop(key, None)

        self.receivers[key] = (_reference(receiver, weak, forget), sender)
        return receiver

    def connect_via(self, sender: Any, weak: bool = False) -> Callable[[Receiver], Receiver]:
        """Decorator form of ``connect`` for one sender."""

        def decorator(receiver: Receiver) -> Receiver:
            return self.connect(receiver, sender, weak)

        return decorator

    def disconnect(self, receiver: Receiver, sender: Any = ANY) -> None:
        """Stop calling ``receiver`` (for every sender, unless one is given)."""
        rkey = _receiver_key(receiver)
        for key in [k for k in self.receivers if k[0] == rkey and (sender is ANY or k[1] == id(sender))]:
            self.receivers.pop(key, None)

    @contextmanager
    def connected_to(self, receiver: Receiver, sender: Any = ANY) -> Iterator[None]:
        """Connect ``receiver`` for the duration of a ``with`` block."""
        self.connect(receiver, sender, weak=False)
        try:
            yield
        finally:
            self.disconnect(receiver, sender)

    def has_receivers_for(self, sender: Any) -> bool:
        """Whether a send from ``sender`` would reach anyone."""
        return any(target is ANY or target is sender for _ref, target in self.receivers.values())

    def send(
        self, sender: Any = None, /, *, _async_wrapper: Callable[..., Any] | None = None, **kwargs: Any
    ) -> list[tuple[Receiver, Any]]:
        """Call the receivers for ``sender``; returns ``[(receiver, return value), ...]``."""
        results = []
        for ref, target in list(self.receivers.values()):
            if target is not ANY and target is not sender:
                continue
            receiver = ref()
            if receiver is None:
                continue
            call = _async_wrapper(receiver) if _async_wrapper is not None else receiver
            results.append((receiver, call(sender, **kwargs)))
        return results

    def __repr__(self) -> str:
        return f"<Signal {self.name!r}>"


class Namespace(dict[str, Signal]):
    """A set of named signals: ``ns.signal("name")`` returns the same Signal for a name."""

    def signal(self, name: str, doc: str | None = None) -> Signal:
        if name not in self:
            self[name] = Signal(name, doc)
        return self[name]


_signals = Namespace()

template_rendered = _signals.signal("template-rendered")
before_render_template = _signals.signal("before-render-template")
request_started = _signals.signal("request-started")
request_finished = _signals.signal("request-finished")
request_tearing_down = _signals.signal("request-tearing-down")
got_request_exception = _signals.signal("got-request-exception")
appcontext_tearing_down = _signals.signal("appcontext-tearing-down")
appcontext_pushed = _signals.signal("appcontext-pushed")
appcontext_popped = _signals.signal("appcontext-popped")
message_flashed = _signals.signal("message-flashed")
