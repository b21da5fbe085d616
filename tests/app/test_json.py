"""JSON: jsonify, the default provider's types and formatting, request JSON, custom providers."""

from __future__ import annotations

import dataclasses
import decimal
import io
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from markupsafe import Markup

from treadle import Treadle, json, jsonify, request
from treadle.json import DefaultJSONProvider


def test_jsonify_keywords_make_an_object(app: Treadle, client: Any) -> None:
    app.get("/")(lambda: jsonify(a=1, b="two"))
    rv = client.get("/")
    assert rv.mimetype == "application/json"
    assert rv.json == {"a": 1, "b": "two"}


def test_jsonify_several_positionals_make_a_list(app: Treadle, client: Any) -> None:
    app.get("/")(lambda: jsonify(1, 2, 3))
    assert client.get("/").json == [1, 2, 3]


def test_jsonify_no_arguments_is_null(app: Treadle, client: Any) -> None:
    app.get("/")(lambda: jsonify())
    assert client.get("/").data == b"null\n"


def test_jsonify_args_and_kwargs_together_is_an_error(app: Treadle) -> None:
    with app.app_context(), pytest.raises(TypeError, match="either args or kwargs"):
        jsonify(1, a=2)


def test_response_is_compact_and_sorted_outside_debug(app: Treadle, client: Any) -> None:
    app.get("/")(lambda: {"b": 1, "a": 2})
    assert client.get("/").data == b'{"a":2,"b":1}\n'


def test_response_is_indented_in_debug(app: Treadle, client: Any) -> None:
    app.debug = True
    app.get("/")(lambda: {"a": 1})
    assert client.get("/").data == b'{\n  "a": 1\n}\n'


def test_sort_keys_can_be_turned_off(app: Treadle, client: Any) -> None:
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.get("/")(lambda: {"b": 1, "a": 2})
    assert client.get("/").data == b'{"b":1,"a":2}\n'


def test_ensure_ascii_default_and_off(app: Treadle, client: Any) -> None:
    app.get("/")(lambda: {"s": "é"})
    assert client.get("/").data == b'{"s":"\\u00e9"}\n'
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    assert client.get("/").data == '{"s":"é"}\n'.encode()


def test_default_handles_extra_types(app: Treadle) -> None:
    @dataclasses.dataclass
    class Point:
        x: int
        y: int

    value = {
        "date": date(2024, 1, 2),
        "dt": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        "dec": decimal.Decimal("1.50"),
        "uuid": uuid.UUID(int=1),
        "dc": Point(1, 2),
        "html": Markup("<b>"),
    }
    with app.app_context():
        decoded = json.loads(json.dumps(value))
    assert decoded == {
        "date": "Tue, 02 Jan 2024 00:00:00 GMT",
        "dt": "Tue, 02 Jan 2024 03:04:05 GMT",
        "dec": "1.50",
        "uuid": "00000000-0000-0000-0000-000000000001",
        "dc": {"x": 1, "y": 2},
        "html": "<b>",
    }


def test_unknown_type_error_names_it(app: Treadle) -> None:
    with app.app_context(), pytest.raises(TypeError, match="Object of type object is not JSON serializable"):
        json.dumps(object())


def test_module_functions_work_without_app() -> None:
    assert json.loads(json.dumps({"d": decimal.Decimal("2")})) == {"d": "2"}
    buffer = io.StringIO()
    json.dump([1], buffer)
    assert json.load(io.StringIO(buffer.getvalue())) == [1]


def test_request_json_is_parsed(app: Treadle, client: Any) -> None:
    app.post("/")(lambda: {"got": request.json})
    assert client.post("/", json={"n": 5}).json == {"got": {"n": 5}}


def test_invalid_request_json_is_400(app: Treadle, client: Any) -> None:
    app.post("/")(lambda: {"got": request.json})
    rv = client.post("/", data="{not json", content_type="application/json")
    assert rv.status_code == 400


def test_request_json_wrong_content_type_is_415(app: Treadle, client: Any) -> None:
    app.post("/")(lambda: {"got": request.json})
    assert client.post("/", data="{}", content_type="text/plain").status_code == 415


def test_custom_provider_class(client: Any) -> None:
    class UpperProvider(DefaultJSONProvider):
        def dumps(self, obj: Any, **kwargs: Any) -> str:
            return super().dumps(obj, **kwargs).upper()

    class App(Treadle):
        json_provider_class = UpperProvider

    app = App("custom_json")
    with app.app_context():
        assert json.dumps({"a": "b"}) == '{"A": "B"}'


def test_request_json_uses_app_provider(app: Treadle, client: Any) -> None:
    class Provider(DefaultJSONProvider):
        def loads(self, s: str | bytes, **kwargs: Any) -> Any:
            return {"replaced": True}

    app.json = Provider(app)
    app.post("/")(lambda: request.get_json())
    assert client.post("/", json={"a": 1}).json == {"replaced": True}


def test_response_json_property_on_test_response(app: Treadle, client: Any) -> None:
    app.get("/")(lambda: {"x": [1]})
    assert client.get("/").get_json() == {"x": [1]}


@pytest.mark.parametrize(
    "value",
    ["text", 1, 1.5, float("nan"), None, True, [1, "é", {"b": 1, "a": 2}], (1, 2), {1: "int key"}],
)
def test_compact_response_body_is_what_json_dumps_gives(app: Treadle, value: Any) -> None:
    import json as stdlib_json

    with app.app_context():
        body = app.json.response(value).get_data(as_text=True)
    assert body == stdlib_json.dumps(value, sort_keys=True, separators=(",", ":")) + "\n"


def test_compact_response_uses_the_providers_default(app: Treadle) -> None:
    app.json.default = lambda o: f"<{type(o).__name__}>"  # type: ignore[attr-defined]
    with app.app_context():
        assert app.json.response({"x": object()}).get_data() == b'{"x":"<object>"}\n'


def test_compact_response_of_a_circular_structure_is_an_error(app: Treadle) -> None:
    loop: list[Any] = []
    loop.append(loop)
    with app.app_context(), pytest.raises(ValueError, match="Circular reference"):
        app.json.response(loop)
