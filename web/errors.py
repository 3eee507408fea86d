"""Errors at the web edge: one handler for Newsfacet's errors, plus 404/405 and a
catch-all 500 that never shows a trace. ``/api/...`` answers JSON, the rest HTML."""

from __future__ import annotations

from flask import Flask
from flask import Response
from flask import current_app
from flask import jsonify
from flask import render_template
from flask import request
from markupsafe import escape
from werkzeug.exceptions import HTTPException

from search.errors import IndexMissingError
from search.errors import NewsfacetError
from search.errors import QueryTimeoutError
from search.errors import error_object


def _respond(message: str, status: int, *, title: str, build_hint: str | None = None):
    if request.path.startswith("/api/"):
        return jsonify(error_object(message, status)), status
    try:
        return render_template("error.html", message=message, status=status, title=title,
                               build_hint=build_hint), status
    except Exception as e:
        # The page needs URLs, which need a readable Host (a 64-character label fails
        # IDNA): an error page must not fail in turn, so it goes without the template.
        current_app.logger.warning("Error page on %s without its template: %r",
                                   request.path, e)
        return _plain_page(message, status, title), status


def _plain_page(message: str, status: int, title: str) -> Response:
    body = (f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)} · Newsfacet</title></head>\n<body><main>"
            f"<h1>{escape(title)}</h1>\n<p role=\"alert\">{escape(message)}</p>\n"
            f"<p><a href=\"/\">Back to search</a></p></main></body></html>\n")
    return Response(body, status=status, mimetype="text/html")


def _newsfacet_error(e: NewsfacetError):
    status = int(getattr(e, "status", 500) or 500)
    if isinstance(e, IndexMissingError):
        hint = f"newsfacet index PATH --index {e.index_dir}"
        return _respond(str(e), status, title="No index yet", build_hint=hint)
    if isinstance(e, QueryTimeoutError):
        # Expected under abuse: one line, so a flood of them cannot fill the log with traces.
        current_app.logger.warning("Search stopped by its time budget on %s", request.full_path)
        return _respond(str(e), status, title="The search took too long")
    if status >= 500:
        # Our own 500s (a bad setting) name the problem but are still logged in full.
        current_app.logger.error("Newsfacet error on %s", request.path, exc_info=e)
    titles = {400: "Cannot run this search", 404: "Not found"}
    return _respond(str(e), status, title=titles.get(status, "Something went wrong"))


def _http_error(e: HTTPException):
    status = e.code or 500
    messages = {404: "There is no page at this address.",
                405: "This address does not accept that method."}
    return _respond(messages.get(status, e.description or e.name), status, title=e.name)


def _unexpected(e: Exception):
    if isinstance(e, HTTPException):
        return _http_error(e)
    current_app.logger.exception("Unhandled error on %s", request.path)
    return _respond("Something went wrong on our side; the error has been logged.", 500,
                    title="Server error")


def register(app: Flask) -> None:
    """Install the handlers on ``app``."""
    app.register_error_handler(NewsfacetError, _newsfacet_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
