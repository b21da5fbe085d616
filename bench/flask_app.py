"""The framework scenario's app on Flask: one route that returns a short string.

bench/treadle_app.py is the same app on treadle; keep the two line for line alike.
"""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello() -> str:
    return "Hello, World!"
