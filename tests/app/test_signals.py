"""Signals: each is sent at Flask's point in the request, to receivers for that app only."""

from __future__ import annotations

import gc
from typing import Any

import pytest

from treadle import (
    Treadle,
    appcontext_popped,
    appcontext_pushed,
    appcontext_tearing_down,
    before_render_template,
    flash,
    got_request_exception,
    message_flashed,
    render_template_string,
    request_finished,
    request_started,
    request_tearing_down,
    template_rendered,
)
from treadle.signals import Namespace, Signal


def test_request_signals_in_order(app: Treadle, client: Any) -> None:
    events: list[str] = []

    def started(sender: Any, **extra: Any) -> None:
        events.append("started")

    def finished(sender: Any, response: Any, **extra: Any) -> None:
        events.append(f"finished {response.status_code}")

    def tearing_down(sender: Any, exc: Any, **extra: Any) -> None:
        events.append(f"tearing_down {exc}")

    app.get("/")(lambda: events.append("view") or "x")
    with (
        request_started.connected_to(started, app),
        request_finished.connected_to(finished, app),
        request_tearing_down.connected_to(tearing_down, app),
    ):
        client.get("/")
    assert events == ["started", "view", "finished 200", "tearing_down None"]


def test_appcontext_signals(app: Treadle) -> None:
    events: list[str] = []

    def record(name: str) -> Any:
        def receiver(sender: Any, **extra: Any) -> None:
            events.append(name)

        return receiver

    pushed, tearing, popped = record("pushed"), record("tearing_down"), record("popped")
    with (
        appcontext_pushed.connected_to(pushed, app),
        appcontext_tearing_down.connected_to(tearing, app),
        appcontext_popped.connected_to(popped, app),
        app.app_context(),
    ):
        pass
    assert events == ["pushed", "tearing_down", "popped"]


def test_got_request_exception(app: Treadle, client: Any) -> None:
    seen: list[BaseException] = []

    @app.get("/")
    def index() -> str:
        raise ZeroDivisionError

    def record(sender: Any, exception: BaseException, **extra: Any) -> None:
        seen.append(exception)

    with got_request_exception.connected_to(record, app), pytest.raises(ZeroDivisionError):
        client.get("/")
    assert isinstance(seen[0], ZeroDivisionError)


def test_template_signals_carry_template_and_context(app: Treadle) -> None:
    recorded: list[tuple[str, Any]] = []

    def before(sender: Any, template: Any, context: dict[str, Any]) -> None:
        recorded.append(("before", context["name"]))

    def rendered(sender: Any, template: Any, context: dict[str, Any]) -> None:
        recorded.append(("rendered", context["name"]))

    with (
        before_render_template.connected_to(before, app),
        template_rendered.connected_to(rendered, app),
        app.app_context(),
    ):
        render_template_string("{{ name }}", name="n")
    assert recorded == [("before", "n"), ("rendered", "n")]


def test_message_flashed(app: Treadle) -> None:
    flashed: list[tuple[str, str]] = []

    def record(sender: Any, message: str, category: str) -> None:
        flashed.append((message, category))

    with message_flashed.connected_to(record, app), app.test_request_context():
        flash("hi", "info")
    assert flashed == [("hi", "info")]


def test_receiver_for_other_app_is_not_called(app: Treadle, client: Any) -> None:
    calls: list[Any] = []
    other = Treadle("other")
    app.get("/")(lambda: "x")
    with request_started.connected_to(lambda sender, **kw: calls.append(sender), other):
        client.get("/")
    assert calls == []


def test_weak_receivers_are_dropped_when_collected() -> None:
    signal = Signal("s")

    def receiver(sender: Any) -> str:
        return "r"

    signal.connect(receiver)
    assert signal.send(None) == [(receiver, "r")]
    del receiver
    gc.collect()
    assert signal.receivers == {}


def test_bound_method_receivers_and_disconnect() -> None:
    class Listener:
        def __init__(self) -> None:
            self.seen: list[Any] = []

        def on(self, sender: Any, **kw: Any) -> None:
            self.seen.append(sender)

    listener = Listener()
    signal = Namespace().signal("bound")
    signal.connect(listener.on)
    signal.send("a")
    signal.disconnect(listener.on)
    signal.send("b")
    assert listener.seen == ["a"]


def test_namespace_returns_same_signal() -> None:
    namespace = Namespace()
    assert namespace.signal("x") is namespace.signal("x")
