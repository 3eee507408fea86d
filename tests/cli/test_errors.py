"""Every command's errors: one exit-code table, and the JSON error object under ``--json``.

DESIGN.md: exit 0 done, 1 nothing usable / no index, 2 usage error (options, settings,
a query that cannot be run), 3 busy; with ``--json`` an error is
``{"ok": false, "error": "…", "status": N}`` on stdout, with the same exit code.
Real commands through click's CliRunner, on real indexes.
"""

from __future__ import annotations

import inspect
import json

import pytest
from click.testing import CliRunner

from search import errors
from search import storage
from search.cli import main
from search.schema import SCHEMA_VERSION
from tests.conftest import HANDMADE
from tests.conftest import SEED_000
from tests.conftest import write_articles_index


def run(*args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)


def json_error(result) -> dict:
    """The JSON error object a ``--json`` run printed: alone on stdout, nothing on stderr."""
    assert result.stderr == "", result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"ok", "error", "status"} and data["ok"] is False, data
    return data


# (command line with {small} and {none} for the index paths, exit code, JSON status,
#  words of the message). Each runs as is, then again with --json.
JSON_CASES = {
    "search: a query that cannot be run":
        (["search", "*", "--index", "{small}"], 2, 400, "only wildcards"),
    "search: a bad date in the query":
        (["search", "date:[2022-13 TO]", "--index", "{small}"], 2, 400, "'2022-13'"),
    "search: a bad --from":
        (["search", "x", "--from", "June", "--index", "{small}"], 2, 400, "YYYY-MM-DD"),
    "search: no index":
        (["search", "damascus", "--index", "{none}"], 1, 503, "No index at"),
    "search: --limit not a number (click)":
        (["search", "x", "--limit", "abc", "--index", "{small}"], 2, 400, "'--limit'"),
    "search: --sort not a choice (click)":
        (["search", "x", "--sort", "best", "--index", "{small}"], 2, 400, "'--sort'"),
    "search: unknown option (click)":
        (["search", "x", "--colour", "--index", "{small}"], 2, 400, "--colour"),
    "info: no index":
        (["info", "--index", "{none}"], 1, 503, "No index at"),
    "info: unknown option (click)":
        (["info", "--top", "5", "--index", "{small}"], 2, 400, "--top"),
}


def _args(args, small_index, tmp_path):
    return [a.format(small=small_index, none=tmp_path / "none") for a in args]


@pytest.mark.parametrize("case", JSON_CASES)
def test_errors_as_text_exit_with_the_documented_code(case, small_index, tmp_path):
    args, code, _, words = JSON_CASES[case]
    result = run(*_args(args, small_index, tmp_path))
    assert result.exit_code == code, result.output
    assert words in result.stderr and "Error: " in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.output


@pytest.mark.parametrize("case", JSON_CASES)
def test_errors_with_json_are_the_json_error_object_on_stdout(case, small_index, tmp_path):
    args, code, status, words = JSON_CASES[case]
    result = run(*_args(args, small_index, tmp_path), "--json")
    assert result.exit_code == code, result.output
    data = json_error(result)
    assert data["status"] == status
    assert words in data["error"] and not data["error"].startswith("Error")


def test_json_anywhere_among_the_options_counts(small_index):
    # --json before the bad option: click stops at --limit, the JSON error still comes.
    result = run("search", "--json", "x", "--limit", "abc", "--index", small_index)
    assert result.exit_code == 2
    assert json_error(result)["status"] == 400


def test_json_after_double_dash_is_the_query_not_the_flag(tmp_path):
    result = run("search", "--index", tmp_path / "none", "--", "--json")
    assert result.exit_code in (1, 2)
    assert result.stdout == "" and result.stderr.startswith("Error: ")


def test_index_busy_exits_3(tmp_path):
    index_dir = write_articles_index(HANDMADE, tmp_path / "ix")
    live = storage.current(index_dir)
    with storage.write_lock(index_dir):
        result = run("index", SEED_000, "--index", index_dir, "-q", "--rebuild",
                     env={"NEWSFACET_LOCK_TIMEOUT": "0.3"})
    assert result.exit_code == 3, result.output
    assert "busy" in result.stderr and result.stderr.startswith("Error: ")
    assert storage.current(index_dir) == live


def test_index_of_another_schema_version_exits_1(tmp_path):
    index_dir = write_articles_index(HANDMADE, tmp_path / "ix")
    storage.set_schema_version(storage.current(index_dir), SCHEMA_VERSION - 1)
    result = run("index", SEED_000, "--index", index_dir, "-q")
    assert result.exit_code == 1, result.output
    assert "--rebuild" in result.stderr


def test_index_with_nothing_usable_exits_1(tmp_path):
    (tmp_path / "junk.txt").write_bytes(b"\x00" * 100)
    result = run("index", tmp_path / "junk.txt", "--index", tmp_path / "ix", "-q")
    assert result.exit_code == 1, result.output
    assert "Error: Nothing to index" in result.stderr


def test_usage_errors_of_index_and_serve_exit_2(tmp_path):
    assert run("index", "--index", tmp_path / "ix").exit_code == 2        # no PATH
    assert run("index", SEED_000, "--processes", 0).exit_code == 2
    assert run("serve", "--port", 0, "--index", tmp_path / "ix").exit_code == 2


# Every command, with a bad setting: exit 2 naming the variable, whatever the command
# would have done next (even with no index there, or nothing to read).
BAD_SETTINGS = [("NEWSFACET_PAGE_SIZE", "abc", "is not a whole number"),
                ("NEWSFACET_LOCK_TIMEOUT", "soon", "is not a number")]
COMMANDS = {
    "index": ["index", str(SEED_000), "--index", "{ix}", "-q", "--processes", "1"],
    "search": ["search", "damascus", "--index", "{small}"],
    "search, no index": ["search", "damascus", "--index", "{ix}"],
    "info": ["info", "--index", "{small}"],
    "info, no index": ["info", "--index", "{ix}"],
    # The setting is checked before the server is made: it never starts.
    "serve": ["serve", "--index", "{small}", "--port", "8999"],
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(("variable", "value", "words"), BAD_SETTINGS)
def test_a_bad_setting_exits_2_from_every_command(command, variable, value, words,
                                                  small_index, tmp_path):
    args = [a.format(small=small_index, ix=tmp_path / "ix") for a in COMMANDS[command]]
    result = run(*args, env={variable: value})
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"Error: {variable}={value!r} {words}")
    assert "Traceback" not in result.output
    assert storage.current(tmp_path / "ix") is None  # nothing was written


@pytest.mark.parametrize("command", ["search", "search, no index", "info", "info, no index"])
def test_a_bad_setting_with_json_is_the_json_error_object(command, small_index, tmp_path):
    args = [a.format(small=small_index, ix=tmp_path / "ix") for a in COMMANDS[command]]
    result = run(*args, "--json", env={"NEWSFACET_PAGE_SIZE": "abc"})
    assert result.exit_code == 2, result.output
    data = json_error(result)
    assert data["status"] == errors.ConfigError.status
    assert data["error"].startswith("NEWSFACET_PAGE_SIZE='abc' is not a whole number")


def test_help_still_works_with_a_bad_setting():
    result = run("search", "--help", env={"NEWSFACET_PAGE_SIZE": "abc"})
    assert result.exit_code == 0 and "--json" in result.stdout


def test_every_library_error_has_its_own_exit_code():
    from search.cli.common import EXIT_CODES
    from search.cli.common import exit_code

    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass)
               if issubclass(c, errors.NewsfacetError)]
    assert set(classes) == set(EXIT_CODES), "decide an exit code for each error class"
    assert {c.__name__: exit_code(c.__new__(c)) for c in classes} == {
        "NewsfacetError": 1, "ConfigError": 2, "QueryError": 2, "IndexBusyError": 3,
        "IndexMissingError": 1, "IndexVersionError": 1, "IndexWriteError": 1,
        "ArticleReadError": 1, "NotFoundError": 1, "QueryTimeoutError": 3,
        "ClusterError": 1}

