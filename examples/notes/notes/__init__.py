"""The notes app: ``create_app()`` builds and configures one instance (the application factory).

Settings come, later winning, from the defaults below, ``instance/config.py``, ``NOTES_*``
environment variables (``NOTES_SECRET_KEY``, ``NOTES_DATABASE``, ``NOTES_PROXY_FIX_HOPS``, ...)
and ``test_config``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from treadle import Treadle
from treadle.middleware.proxy_fix import ProxyFix

__all__ = ["create_app"]


def create_app(test_config: Mapping[str, Any] | None = None) -> Treadle:
    """Build the app; ``test_config`` replaces the instance config file and environment."""
    app = Treadle(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY="dev",
        DATABASE=os.path.join(app.instance_path, "notes.sqlite"),
        UPLOAD_FOLDER=os.path.join(app.instance_path, "uploads"),
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
        SESSION_COOKIE_SAMESITE="Lax",
        # Reverse proxies in front of the app that set X-Forwarded-*: 0 trusts none.
        PROXY_FIX_HOPS=0,
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("NOTES")
    else:
        app.config.from_mapping(test_config)
    if app.config["SECRET_KEY"] == "dev" and not (app.debug or app.testing):
        app.logger.warning(
            "notes: SECRET_KEY is the public default 'dev'; anyone can forge sessions. "
            "Set NOTES_SECRET_KEY (the same value on every instance) or instance/config.py."
        )

    os.makedirs(app.config["UPLOAD_FOLDER"], exist_ok=True)

    from notes import api, auth, db, views

    db.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)

    hops = int(app.config["PROXY_FIX_HOPS"])
    if hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_prefix=hops
        )
    return app
