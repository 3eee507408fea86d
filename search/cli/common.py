"""What every ``newsfacet`` command shares: exit codes, ``--index``, ``--json`` errors.

One table maps each :class:`~search.errors.NewsfacetError` subclass to the exit code of
DESIGN.md ("CLI contract"): 0 done; 1 nothing usable or no index; 2 usage error (a bad
option, setting or query); 3 the index is busy. Every command is a :class:`Command`,
which checks the ``NEWSFACET_*`` settings before it runs, turns library errors into
one-line messages with their exit code, and, when ``--json`` is on its command line,
prints any error (click's own usage errors too) as the JSON contract's error object
``{"ok": false, "error": "…", "status": N}`` on stdout instead.
"""

from __future__ import annotations

import json

import click

from search.config import Settings
from search.errors import ArticleReadError
from search.errors import ClusterError
from search.errors import ConfigError
from search.errors import IndexBusyError
from search.errors import IndexMissingError
from search.errors import IndexVersionError
from search.errors import IndexWriteError
from search.errors import NewsfacetError
from search.errors import NotFoundError
from search.errors import QueryError
from search.errors import QueryTimeoutError
from search.errors import error_object

# The one mapping of library errors to exit codes. A subclass not listed takes the code
# of its nearest listed base class (NewsfacetError: 1).
EXIT_CODES: dict[type[NewsfacetError], int] = {
    QueryError: 2,          # a query or filter value that cannot be run
    ConfigError: 2,         # a NEWSFACET_* setting (or the NER model it names) is unusable
    IndexBusyError: 3,      # another `index` run holds the write lock
    QueryTimeoutError: 3,   # a valid search that ran past QUERY_TIMEOUT: busy, try again
    IndexMissingError: 1,   # no index to read
    IndexVersionError: 1,   # the index must be rebuilt before it can be used
    IndexWriteError: 1,     # nothing usable was written
    ArticleReadError: 1,    # a path given cannot be read at all
    ClusterError: 1,        # the --cluster scheduler cannot be reached: nothing was done
    NotFoundError: 1,       # no such article
    NewsfacetError: 1,
}

# The JSON "status" of click's usage errors (a bad option value, a missing argument).
USAGE_STATUS = 400

# The parameter name of every command's ``--json`` flag (see :func:`json_option`).
JSON_PARAM = "as_json"
# Where a command keeps its Settings in the click context.
SETTINGS_KEY = "newsfacet.settings"


def exit_code(error: NewsfacetError) -> int:
    """The exit code for a library error (:data:`EXIT_CODES`, nearest class first).

    >>> exit_code(QueryError("bad"))
    2
    """
    for cls in type(error).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return 1


class CliError(click.ClickException):
    """A one-line error with its exit code and, for ``--json``, its HTTP-like status.

    :param message: what went wrong and what to do, in one line
    :param exit_code: the process exit code (DESIGN.md's table)
    :param status: the ``status`` of the JSON error object
    :param as_json: print the JSON error object on stdout instead of ``Error: …`` on stderr
    """

    def __init__(self, message: str, exit_code: int = 1, status: int = 500,
                 as_json: bool = False):
        super().__init__(message)
        self.exit_code = exit_code
        self.status = status
        self.as_json = as_json

    @classmethod
    def from_library(cls, error: NewsfacetError, as_json: bool = False) -> CliError:
        """The CLI form of a library error: its message, exit code and status."""
        status = int(getattr(error, "status", 500) or 500)
        return cls(str(error), exit_code(error), status, as_json)

    @classmethod
    def from_click(cls, error: click.ClickException, as_json: bool = False) -> CliError:
        """The CLI form of click's own error (a usage error exits 2 with status 400)."""
        status = USAGE_STATUS if isinstance(error, click.UsageError) else 500
        return cls(error.format_message(), error.exit_code, status, as_json)

    def show(self, file=None) -> None:
        """Print the error: the JSON object on stdout under ``--json``, else one line."""
        if not self.as_json:
            super().show(file)
            return
        click.echo(json.dumps(error_object(self.format_message(), self.status),
                              ensure_ascii=False, indent=2))


def _json_requested(args: list[str]) -> bool:
    """Whether ``--json`` is among a command's own options (not after ``--``)."""
    args = list(args)
    if "--" in args:
        args = args[:args.index("--")]
    return "--json" in args


class Command(click.Command):
    """A ``newsfacet`` command: settings checked first, errors as DESIGN.md says.

    Click parses a command's arguments before its callback runs, so usage errors are
    caught in :meth:`make_context` (from the raw arguments: is ``--json`` there?) and
    errors of the run in :meth:`invoke` (from the parsed ``--json`` flag).
    """

    def make_context(self, info_name, args, parent=None, **extra):
        as_json = _json_requested(args)
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except CliError:
            raise
        except click.ClickException as e:
            if not as_json:
                raise
            raise CliError.from_click(e, as_json=True) from e

    def invoke(self, ctx: click.Context):
        as_json = bool(ctx.params.get(JSON_PARAM))
        try:
            # Every command builds the settings once, up front, so a bad NEWSFACET_* value
            # is the same usage error (exit 2, naming the variable) whatever the command.
            ctx.meta[SETTINGS_KEY] = Settings.load()
            return super().invoke(ctx)
        except NewsfacetError as e:
            raise CliError.from_library(e, as_json) from e
        except CliError as e:
            e.as_json = e.as_json or as_json
            raise
        except click.ClickException as e:
            if not as_json:
                raise
            raise CliError.from_click(e, as_json=True) from e


def settings() -> Settings:
    """The settings the running command built (:class:`Command` builds them first)."""
    return click.get_current_context().meta[SETTINGS_KEY]


def command(name: str | None = None, **attrs):
    """``click.command`` with :class:`Command` (every ``newsfacet`` command uses it)."""
    return click.command(name, cls=Command, **attrs)


index_option = click.option(
    "--index", "index_dir", default="index", envvar="NEWSFACET_INDEX", show_default=True,
    type=click.Path(file_okay=False), help="Index directory (env NEWSFACET_INDEX).")


def json_option(help: str):
    """The ``--json`` flag; with it, errors too are printed as JSON (on stdout)."""
    return click.option("--json", JSON_PARAM, is_flag=True, help=help)
