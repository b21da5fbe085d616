"""The framework scenario's app on treadle: one route that returns a short string.

bench/flask_app.py is the same app on Flask; keep the two line for line alike.
"""

from __future__ import annotations

from treadle import Treadle

app = Treadle(__name__)


@app.route("/")
def hello() -> str:
    return "Hello, World!"
