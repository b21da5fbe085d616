"""Many client threads against the real threaded server: every answer belongs to its request.

These run in the normal suite and, in CI, again on free-threaded 3.13t with PYTHON_GIL=0 and
PYTHON_GIL=1: without the GIL, request state that leaks between threads, or bookkeeping that
is only safe under the GIL, shows up here as a wrong or missing answer.
"""

from __future__ import annotations

import itertools
import os
import threading
from typing import Any

import pytest
from hammer import Client, form_urlencoded, loads, multipart, run_clients, widen_race_window

from treadle import Treadle, g, jsonify, request, session
from treadle.server.threaded import parallelism

CLIENTS = 32
REQUESTS_PER_CLIENT = 40
POOL_THREADS = 16


def make_app() -> tuple[Treadle, dict[str, Any]]:
    """An app that echoes what it saw through request, g and session, and counts requests."""
    app = Treadle(__name__)
    app.config["SECRET_KEY"] = "hammer"
    seen: dict[str, Any] = {"count": 0, "ids": [], "lock": threading.Lock()}

    @app.before_request
    def remember_id() -> None:
        g.request_id = request.headers["X-Request-Id"]
        g.client = request.view_args["client"] if request.view_args else None

    @app.post("/echo/<client>/<int:number>")
    def echo(client: str, number: int) -> Any:
        form = request.form.to_dict()
        upload = request.files.get("blob")
        widen_race_window()
        previous = session.get("count", 0)
        owner = session.setdefault("client", client)
        session["count"] = previous + 1
        widen_race_window()
        with seen["lock"]:
            seen["count"] += 1
            seen["ids"].append(g.request_id)
        return jsonify(
            id=g.request_id,
            client=g.client,
            number=number,
            path=request.path,
            query=request.args.to_dict(),
            form=form,
            upload=upload.read().decode() if upload is not None else None,
            session_owner=owner,
            session_count=session["count"],
            thread=threading.get_ident(),
        )

    @app.after_request
    def tag(response: Any) -> Any:
        response.headers["X-Echo-Id"] = g.request_id
        return response

    return app, seen


def test_each_answer_carries_its_own_request_form_and_session(serve: Any) -> None:
    app, seen = make_app()
    srv = serve(app, threaded=True, threads=POOL_THREADS)
    answered: list[str] = []
    lock = threading.Lock()

    def client_work(index: int) -> None:
        client = Client(srv.port)
        name = f"c{index}"
        try:
            for number in range(REQUESTS_PER_CLIENT):
                request_id = f"{name}-{number}-{os.urandom(4).hex()}"
                fields = {"id": request_id, "text": f"from {name} #{number}"}
                if number % 2:
                    body, content_type = multipart(fields, {"blob": request_id.encode() * 3})
                else:
                    body, content_type = form_urlencoded(fields), "application/x-www-form-urlencoded"
                status, headers, data = client.request(
                    "POST",
                    f"/echo/{name}/{number}?id={request_id}&n={number}",
                    body=body,
                    headers={"X-Request-Id": request_id, "Content-Type": content_type},
                )
                assert status == 200, data
                answer = loads(data)
                assert answer["id"] == request_id and headers["x-echo-id"] == request_id
                assert (answer["client"], answer["number"]) == (name, number)
                assert answer["path"] == f"/echo/{name}/{number}"
                assert answer["query"] == {"id": request_id, "n": str(number)}
                assert answer["form"] == fields
                expected_upload = request_id * 3 if number % 2 else None
                assert answer["upload"] == expected_upload
                assert answer["session_owner"] == name
                assert answer["session_count"] == number + 1
                with lock:
                    answered.append(request_id)
        finally:
            client.close()

    errors = run_clients(CLIENTS, client_work)
    assert not errors, errors[:3]
    total = CLIENTS * REQUESTS_PER_CLIENT
    assert len(answered) == len(set(answered)) == total
    assert seen["count"] == total
    assert sorted(seen["ids"]) == sorted(answered)  # each request ran exactly once


def plain_echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """The server alone: the body, path and id header come back in the answer."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    widen_race_window()
    reply = b"|".join(
        [
            environ["PATH_INFO"].encode(),
            environ["QUERY_STRING"].encode(),
            environ["HTTP_X_REQUEST_ID"].encode(),
            body,
        ]
    )
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(reply)))])
    return [reply]


def test_plain_wsgi_answers_are_never_crossed_lost_or_doubled(serve: Any) -> None:
    srv = serve(plain_echo, threaded=True, threads=POOL_THREADS)
    counter = itertools.count()
    answered: list[str] = []
    lock = threading.Lock()

    def client_work(index: int) -> None:
        client = Client(srv.port)
        try:
            for number in range(REQUESTS_PER_CLIENT * 2):
                request_id = f"p{index}-{number}-{next(counter)}"
                body = (request_id * (1 + number % 50)).encode()
                status, _, data = client.request(
                    "POST", f"/p/{index}/{number}?q={request_id}", body=body,
                    headers={"X-Request-Id": request_id},
                )  # fmt: skip
                assert status == 200
                expected = b"|".join(
                    [f"/p/{index}/{number}".encode(), f"q={request_id}".encode(),
                     request_id.encode(), body]
                )  # fmt: skip
                assert data == expected
                with lock:
                    answered.append(request_id)
        finally:
            client.close()

    errors = run_clients(CLIENTS, client_work)
    assert not errors, errors[:3]
    assert len(answered) == len(set(answered)) == CLIENTS * REQUESTS_PER_CLIENT * 2


def test_a_fresh_app_survives_many_threads_on_its_first_request(serve: Any, tmp_path: Any) -> None:
    """Lazily built shared state (Jinja environment, loaders, sessions) under a concurrent start."""
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "page.html").write_text("{{ who }} {{ session.get('who') }}")
    app = Treadle(__name__, root_path=str(tmp_path))
    app.config["SECRET_KEY"] = "first"
    environments: set[int] = set()
    lock = threading.Lock()

    @app.get("/page/<who>")
    def page(who: str) -> Any:
        from treadle import current_app, render_template

        session["who"] = who
        with lock:
            environments.add(id(current_app.jinja_env))
        return render_template("page.html", who=who)

    srv = serve(app, threaded=True, threads=CLIENTS)

    def client_work(index: int) -> None:
        client = Client(srv.port)
        try:
            status, _, data = client.request("GET", f"/page/w{index}")
            assert (status, data) == (200, f"w{index} w{index}".encode())
        finally:
            client.close()

    errors = run_clients(CLIENTS, client_work)
    assert not errors, errors[:3]
    assert len(environments) == 1  # built once, not once per racing thread


def test_shared_lazy_objects_are_built_once_under_a_concurrent_first_use(tmp_path: Any) -> None:
    """32 threads released together reach the lazily built Jinja environment and loader."""
    from treadle import Blueprint

    for _ in range(20):  # fresh apps: each first use is a new race
        app = Treadle(__name__, root_path=str(tmp_path))
        blueprint = Blueprint("part", __name__, root_path=str(tmp_path), template_folder="t")
        found = first_uses(lambda a=app, b=blueprint: (id(a.jinja_env), id(b.jinja_loader)))
        assert len(set(found)) == 1, f"{len(set(found))} different objects built"


def first_uses(use: Any) -> list[Any]:
    """What ``use()`` returned on each of CLIENTS threads released together."""
    found: list[Any] = []
    lock = threading.Lock()

    def work(_: int) -> None:
        result = use()
        with lock:
            found.append(result)

    errors = run_clients(CLIENTS, work)
    assert not errors, errors[:3]
    return found


def busy(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """~30 ms of pure-Python work, reporting how many requests were computing meanwhile."""
    with RUNNING["lock"]:
        RUNNING["now"] += 1
        RUNNING["most"] = max(RUNNING["most"], RUNNING["now"])
    total = 0
    for i in range(300_000):
        total = (total + i * i) % 1_000_003
    with RUNNING["lock"]:
        RUNNING["now"] -= 1
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(total).encode()]


RUNNING: dict[str, Any] = {"lock": threading.Lock(), "now": 0, "most": 0}


@pytest.mark.skipif(parallelism() < 2, reason="threads compute one at a time under the GIL")
def test_without_the_gil_cpu_bound_requests_compute_on_several_threads_at_once(serve: Any) -> None:
    srv = serve(busy, threaded=True, threads=8)
    RUNNING.update(now=0, most=0)

    def client_work(index: int) -> None:
        client = Client(srv.port)
        try:
            for _ in range(4):
                status, _, _ = client.request("GET", f"/busy/{index}")
                assert status == 200
        finally:
            client.close()

    errors = run_clients(8, client_work)
    assert not errors, errors[:3]
    assert RUNNING["most"] >= 2  # the pool grew past one running thread although CPU-bound
