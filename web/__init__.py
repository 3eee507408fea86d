"""The Flask app: search page, facet sidebar, article pages and the JSON API.

``web/`` never imports Whoosh: views parse arguments (:mod:`web.args`), call
:mod:`search.query.service` and render. Run it with ``newsfacet serve`` (waitress), never
Flask's debug server.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from search import config as search_config


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Create the app: settings from :func:`search.config.load` (defaults, then
    ``NEWSFACET_*`` environment variables), then ``config`` (e.g. test overrides).

    :param config: settings that win over the environment, e.g.
        ``{"TESTING": True, "INDEX": "/tmp/ix"}``
    """
    app = Flask(__name__)
    app.config.from_mapping(search_config.load())
    # Templates are full of loops; keep the HTML they produce readable.
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    if config:
        app.config.from_mapping(config)

    from web import errors
    from web import views

    app.register_blueprint(views.bp)
    errors.register(app)
    return app
