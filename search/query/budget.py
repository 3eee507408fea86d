"""The time budget of one search (setting ``QUERY_TIMEOUT``), checked inside its long loops.

:func:`limit` sets a deadline for the code run in its block (a context variable, so
each thread — each request — has its own); the loops that can run long (phrase
verification, decoding positions, wildcard expansion, Whoosh's fallback matcher, the
terms of a large OR) call :func:`check`, which raises
:class:`~search.errors.QueryTimeoutError` once it has passed. Work whose partial result
is still true (expanding a wildcard, snippets, a spelling suggestion) asks
:func:`expired` instead and stops early, with a notice. Used by
:mod:`search.query.service`, :mod:`search.query.bind`, :mod:`search.query.evaluate`,
:mod:`search.query.rank` and :mod:`search.query.whoosh_postings`.
"""

from __future__ import annotations

import contextlib
import time
from contextvars import ContextVar

from search.errors import QueryTimeoutError

# (deadline on time.monotonic(), the budget in seconds) of the search running here
_deadline: ContextVar[tuple[float, float] | None] = ContextVar("newsfacet_deadline",
                                                              default=None)


@contextlib.contextmanager
def limit(seconds: float | None):
    """Run the block with a budget of ``seconds`` (``None`` or <= 0: no budget)."""
    if not seconds or seconds <= 0:
        token = _deadline.set(None)
    else:
        token = _deadline.set((time.monotonic() + seconds, seconds))
    try:
        yield
    finally:
        _deadline.reset(token)


@contextlib.contextmanager
def excluded():
    """Run the block outside the running search's budget: the time it takes moves the
    deadline on. For work done once per generation, which the first search after an
    open happens to do and every later one reuses (reading a field's lengths, a
    language's changed forms): a budget is there to stop a costly query, not the first
    one to arrive."""
    if _deadline.get() is None:
        yield
        return
    start = time.monotonic()
    try:
        yield
    finally:
        got = _deadline.get()
        if got is not None:
            _deadline.set((got[0] + time.monotonic() - start, got[1]))


def expired() -> bool:
    """Whether the running search is past its deadline."""
    got = _deadline.get()
    return got is not None and time.monotonic() > got[0]


def seconds() -> float | None:
    """The budget of the running search, or ``None``."""
    got = _deadline.get()
    return got[1] if got is not None else None


def remaining() -> float | None:
    """Seconds left to the running search (never negative), or ``None`` for no budget."""
    got = _deadline.get()
    return max(0.0, got[0] - time.monotonic()) if got is not None else None


def stopped_notice() -> str:
    """The notice of a search whose optional work was cut short."""
    return f"stopped after {seconds():g} s; results may be incomplete"


def check() -> None:
    """Raise :class:`QueryTimeoutError` when the running search is past its deadline."""
    if expired():
        raise timeout_error()


def timeout_error() -> QueryTimeoutError:
    """The error of a search stopped before its matches were complete."""
    return QueryTimeoutError(
        f"The search was stopped after {seconds() or 0:g} s, before it had found every "
        "match. Try fewer wildcards or fuzzy words (word~), a smaller phrase slop "
        "(\"a b\"~N), or fewer words.")
