"""Newsfacet's exceptions: one small hierarchy, translated only at the edges (CLI, web)."""

from __future__ import annotations


def error_object(message: str, status: int) -> dict:
    """The JSON contract's error shape (DESIGN.md, "JSON contract"): the web API answers
    it, and every CLI command run with ``--json`` prints it.

    >>> error_object("Query too long", 400)
    {'ok': False, 'error': 'Query too long', 'status': 400}
    """
    return {"ok": False, "error": message, "status": status}


class NewsfacetError(Exception):
    """Base class of every error Newsfacet raises on purpose."""

    status = 500


class ConfigError(NewsfacetError):
    """A setting has a value that cannot be used."""

    status = 500


class ArticleReadError(NewsfacetError):
    """A file (or one record of it) could not be read as an article.

    :param path: the file, or ``archive::member``
    :param line: the 1-based line or record number, or ``None`` for the whole file
    :param reason: what went wrong, in words a user can act on
    :param warning: the record (or file) was indexed all the same, with something in it
        changed (bytes replaced, a row cut short): the run lists it apart from what it
        skipped, and it never counts as a failure of the file
    """

    status = 400

    def __init__(self, path: str, reason: str, line: int | None = None, *,
                 warning: bool = False):
        self.path = str(path)
        self.line = line
        self.reason = reason
        self.warning = warning
        from search.models import shown

        # The message is for people: a file name that is not UTF-8 shown escaped.
        where = shown(self.path) + (f":{line}" if line is not None else "")
        super().__init__(f"{where}: {reason}")


class IndexMissingError(NewsfacetError):
    """There is no index where one was expected."""

    status = 503

    def __init__(self, index_dir: str):
        self.index_dir = str(index_dir)
        super().__init__(
            f"No index at {self.index_dir}. Run `newsfacet index PATH --index {self.index_dir}` first."
        )


class IndexVersionError(NewsfacetError):
    """The live index was built with another schema: it must be rebuilt, not updated."""

    status = 503

    def __init__(self, index_dir: str, found: int, wanted: int):
        super().__init__(
            f"The index at {index_dir} was built with schema version {found}; this Newsfacet "
            f"writes version {wanted}. Rebuild it: newsfacet index PATH... --index {index_dir} "
            "--rebuild")


class ClusterError(NewsfacetError):
    """The Dask cluster of ``index --cluster`` cannot be reached, or was lost mid-run.

    Not a usage error: the command was well formed, but the run could do nothing with it
    (exit 1, like a missing index); the message names the address and what to start.
    """

    status = 503


class IndexBusyError(NewsfacetError):
    """Another ``newsfacet index`` run holds the index's write lock."""

    status = 503


class IndexWriteError(NewsfacetError):
    """Whoosh committed fewer documents than were written: the new index is not used."""

    status = 500


class QueryError(NewsfacetError):
    """A query (or a filter value) that cannot be run; the message says how to write it."""

    status = 400


class NotFoundError(NewsfacetError):
    """An article id that is not in the index."""

    status = 404


class QueryTimeoutError(NewsfacetError):
    """A search ran past its time budget (setting ``QUERY_TIMEOUT``) and was stopped
    before its matches were complete.

    503, not 400: the query is valid, and the same one may finish on a quieter server;
    the message says how to make it cheaper.
    """

    status = 503
