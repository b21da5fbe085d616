"""Class-based views: View.as_view, MethodView dispatch, decorators, instance per request."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from treadle import Treadle, request
from treadle.views import MethodView, View


def test_view_dispatch_request_gets_url_values(app: Treadle, client: Any) -> None:
    class Greet(View):
        def dispatch_request(self, name: str) -> str:
            return f"hi {name}"

    app.add_url_rule("/hi/<name>", view_func=Greet.as_view("greet"))
    assert client.get("/hi/ann").data == b"hi ann"
    assert "greet" in app.view_functions


def test_view_methods_attribute_is_used(app: Treadle, client: Any) -> None:
    class Poster(View):
        methods: ClassVar[list[str]] = ["POST"]

        def dispatch_request(self) -> str:
            return "posted"

    app.add_url_rule("/p", view_func=Poster.as_view("poster"))
    assert client.post("/p").data == b"posted"
    assert client.get("/p").status_code == 405


def test_method_view_routes_by_verb(app: Treadle, client: Any) -> None:
    class Items(MethodView):
        def get(self) -> str:
            return "list"

        def post(self) -> tuple[str, int]:
            return "created", 201

    app.add_url_rule("/items", view_func=Items.as_view("items"))
    assert client.get("/items").data == b"list"
    assert client.post("/items").status_code == 201
    assert client.delete("/items").status_code == 405
    assert set(Items.methods) == {"GET", "POST"}  # type: ignore[arg-type]


def test_method_view_head_falls_back_to_get(app: Treadle, client: Any) -> None:
    class Page(MethodView):
        def get(self) -> str:
            return "page"

    app.add_url_rule("/page", view_func=Page.as_view("page"))
    rv = client.head("/page")
    assert rv.status_code == 200
    assert rv.data == b""


def test_method_view_subclass_inherits_methods(app: Treadle) -> None:
    class Base(MethodView):
        def get(self) -> str:
            return ""

    class Child(Base):
        def delete(self) -> str:
            return ""

    assert set(Child.methods) == {"GET", "DELETE"}  # type: ignore[arg-type]


def test_new_instance_per_request_by_default(app: Treadle, client: Any) -> None:
    class Counter(View):
        def __init__(self) -> None:
            self.count = 0

        def dispatch_request(self) -> str:
            self.count += 1
            return str(self.count)

    app.add_url_rule("/", view_func=Counter.as_view("counter"))
    assert client.get("/").data == b"1"
    assert client.get("/").data == b"1"


def test_init_every_request_false_shares_instance(app: Treadle, client: Any) -> None:
    class Counter(View):
        init_every_request = False

        def __init__(self) -> None:
            self.count = 0

        def dispatch_request(self) -> str:
            self.count += 1
            return str(self.count)

    app.add_url_rule("/", view_func=Counter.as_view("counter"))
    client.get("/")
    assert client.get("/").data == b"2"


def test_as_view_passes_constructor_arguments(app: Treadle, client: Any) -> None:
    class Template(View):
        def __init__(self, word: str) -> None:
            self.word = word

        def dispatch_request(self) -> str:
            return self.word

    app.add_url_rule("/", view_func=Template.as_view("t", "configured"))
    assert client.get("/").data == b"configured"


def test_view_decorators_are_applied(app: Treadle, client: Any) -> None:
    def add_header(view: Any) -> Any:
        def wrapped(**kwargs: Any) -> Any:
            response = app.make_response(view(**kwargs))
            response.headers["X-Decorated"] = "1"
            return response

        return wrapped

    class Decorated(View):
        decorators: ClassVar[list[Any]] = [add_header]

        def dispatch_request(self) -> str:
            return "x"

    app.add_url_rule("/", view_func=Decorated.as_view("decorated"))
    assert client.get("/").headers["X-Decorated"] == "1"


def test_async_method_view(app: Treadle, client: Any) -> None:
    class AsyncView(MethodView):
        async def get(self) -> str:
            return f"async {request.method}"

    app.add_url_rule("/", view_func=AsyncView.as_view("async_view"))
    assert client.get("/").data == b"async GET"


def test_view_without_dispatch_request_raises() -> None:
    with pytest.raises(NotImplementedError):
        View().dispatch_request()
