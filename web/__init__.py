"""The Flask app: search page, facet sidebar, article pages and the JSON API.

``web/`` never imports Whoosh: views parse arguments (:mod:`web.args`), call
:mod:`search.query.service` and render. Run it with ``newsfacet serve`` (waitress), never
Flask's debug server.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask import g
from werkzeug.routing import Map

from search.config import Settings
from search.query import generation


class _Map(Map):
    """Rules that never merge slashes: Werkzeug answers "/api//search" with a redirect
    whose ``Location`` is built from the Host header (issue 9, point 8); unmerged, such
    a path is a plain 404. (Set on the map class: rules take it when they are added.)"""

    def __init__(self, *args, **kwargs):
        kwargs["merge_slashes"] = False
        super().__init__(*args, **kwargs)


class _Flask(Flask):
    url_map_class = _Map


def _began() -> None:
    g.answering = True
    generation.request_began()


def _ended(exc) -> None:
    if g.pop("answering", False):  # only a request that was counted
        generation.request_ended()


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Create the app with its :class:`~search.config.Settings`, built here once: the
    defaults, then ``NEWSFACET_*`` environment variables, then ``config`` (e.g. test
    overrides). Views pass them to the engine; ``app.config`` shows the same values.

    :param config: settings that win over the environment, e.g.
        ``{"TESTING": True, "INDEX": "/tmp/ix"}``
    :raises ConfigError: when an environment variable's value does not fit its setting
    """
    app = _Flask(__name__)
    settings = Settings.load(config)
    app.config.from_mapping(settings)
    app.extensions["newsfacet"] = settings
    if settings["EXPORT_PROCESSES"] > 0:
        # Exports run in processes of their own (started on the first export, or by
        # `serve` before it takes requests): see search.query.export_process.
        from search.query.export_process import ExportProcesses

        app.extensions["newsfacet_exports"] = ExportProcesses(
            settings["INDEX"], settings["EXPORT_PROCESSES"], settings["EXPORT_NICE"],
            settings["EXPORT_IDLE"])
    # Templates are full of loops; keep the HTML they produce readable.
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    from web import errors
    from web import headers
    from web import views

    app.register_blueprint(views.bp)
    # Every request counts as being answered while the app handles it: an export
    # streaming beside it gives way (its own rows go out after its request ended).
    app.before_request(_began)
    app.teardown_request(_ended)
    errors.register(app)
    app.wsgi_app = headers.wrap(app.wsgi_app)
    return app
