"""The framework scenarios' app on Flask: text, JSON with an int converter, a template.

bench/treadle_app.py is the same app on treadle; keep the two line for line alike.
The template is bench/templates/page.html; the routes match bench/dispatch_bench.py.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, render_template

app = Flask(__name__)
ITEMS = [{"name": f"item {n}", "price": n * 3} for n in range(10)]


@app.route("/")
def text() -> str:
    return "Hello, World!"


@app.route("/users/<int:user_id>")
def user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "name": "Ann", "admin": False}


@app.route("/page")
def page() -> str:
    return render_template("page.html", title="Items", items=ITEMS)
