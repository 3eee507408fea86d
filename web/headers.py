"""Security headers on every response, whoever writes it: Flask, its error handlers, or
waitress itself (a malformed request line or an oversized header never reaches Flask).

:func:`wrap` is WSGI middleware around the Flask app; :class:`HeaderedErrorTask` is the
waitress error task that :mod:`web.server` installs, so waitress's own 400/431/500
answers carry the same headers.
"""

from __future__ import annotations

from waitress.task import ErrorTask

# Forbid inline scripts, other origins and framing on every response (issue 4, point 7).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
)
_NAMES = {name.lower() for name, _ in SECURITY_HEADERS}


def with_security_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``headers`` with the security headers (replacing any of the same names)."""
    return [(k, v) for k, v in headers if k.lower() not in _NAMES] + list(SECURITY_HEADERS)


def wrap(wsgi_app):
    """WSGI middleware adding :data:`SECURITY_HEADERS` to every response of ``wsgi_app``
    (also the 500 Flask writes when an error handler itself fails)."""

    def app(environ, start_response):
        def start(status, headers, exc_info=None):
            return start_response(status, with_security_headers(headers), exc_info)

        return wsgi_app(environ, start)

    return app


class HeaderedErrorTask(ErrorTask):
    """waitress's error response (bad request line, headers too large, ...) with the
    security headers."""

    def execute(self):
        self.response_headers.extend(SECURITY_HEADERS)
        super().execute()
