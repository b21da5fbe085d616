"""app.logger: named after the app, default handler only when logging is unconfigured,
writing to the request's wsgi.errors (stderr outside a request)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from treadle import Treadle
from treadle.logging import default_handler, has_level_handler


@pytest.fixture
def isolated_logger_name() -> Iterator[str]:
    """A logger cut off from the root logger (whose test-runner handlers would count).

    The cut is made in the test body: pytest attaches its capture handlers to loggers that
    do not propagate when the test starts.
    """
    name = "treadle_logging_test_app"
    yield name
    logger = logging.getLogger(name)
    logger.handlers.clear()
    logger.propagate = True
    logger.setLevel(logging.NOTSET)


def _isolate(name: str) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.propagate = False
    return logger


def test_default_handler_added_when_nothing_handles(isolated_logger_name: str) -> None:
    _isolate(isolated_logger_name)
    app = Treadle(isolated_logger_name)
    assert default_handler in app.logger.handlers


def test_no_default_handler_when_app_configured_logging(isolated_logger_name: str) -> None:
    own = logging.StreamHandler(io.StringIO())
    _isolate(isolated_logger_name).addHandler(own)
    app = Treadle(isolated_logger_name)
    assert app.logger.handlers == [own]


def test_default_handler_writes_to_request_errors_stream(app: Treadle) -> None:
    errors = io.StringIO()
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "something broke", None, None)
    with app.test_request_context(errors_stream=errors):
        default_handler.emit(record)
    assert "ERROR in test_logging: something broke" in errors.getvalue()


def test_default_handler_writes_to_stderr_outside_request(capsys: pytest.CaptureFixture[str]) -> None:
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "no request here", None, None)
    default_handler.emit(record)
    assert "no request here" in capsys.readouterr().err


def test_has_level_handler_respects_levels(isolated_logger_name: str) -> None:
    logger = _isolate(isolated_logger_name)
    logger.setLevel(logging.INFO)
    quiet = logging.StreamHandler(io.StringIO())
    quiet.setLevel(logging.ERROR)
    logger.addHandler(quiet)
    assert not has_level_handler(logger)
    quiet.setLevel(logging.INFO)
    assert has_level_handler(logger)


def test_unhandled_error_logged_to_wsgi_errors(isolated_logger_name: str) -> None:
    _isolate(isolated_logger_name)
    app = Treadle(isolated_logger_name)

    @app.get("/")
    def fail() -> str:
        raise RuntimeError("view failed")

    errors = io.StringIO()
    response = app.test_client().get("/", errors_stream=errors)
    assert response.status_code == 500
    assert "Exception on / [GET]" in errors.getvalue()
    assert "RuntimeError: view failed" in errors.getvalue()
