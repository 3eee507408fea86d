"""The Flask app: search page, facet sidebar, article pages and the JSON API.

``web/`` never imports Whoosh: views parse arguments (:mod:`web.args`), call
:mod:`search.query.service` and render. Run it with ``newsfacet serve`` (waitress), never
Flask's debug server.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from search.config import Settings


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Create the app with its :class:`~search.config.Settings`, built here once: the
    defaults, then ``NEWSFACET_*`` environment variables, then ``config`` (e.g. test
    overrides). Views pass them to the engine; ``app.config`` shows the same values.

    :param config: settings that win over the environment, e.g.
        ``{"TESTING": True, "INDEX": "/tmp/ix"}``
    :raises ConfigError: when an environment variable's value does not fit its setting
    """
    app = Flask(__name__)
    settings = Settings.load(config)
    app.config.from_mapping(settings)
    app.extensions["newsfacet"] = settings
    # Templates are full of loops; keep the HTML they produce readable.
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    from web import errors
    from web import views

    app.register_blueprint(views.bp)
    errors.register(app)
    return app
