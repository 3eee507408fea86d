"""``newsfacet search`` through click's CliRunner, on the small real index."""

from __future__ import annotations

import json

from click.testing import CliRunner

from search.cli.search import search_command
from search.cli.search import terminal_text


def run(*args, env=None):
    return CliRunner().invoke(search_command, list(args), env=env)


def test_table_output(small_index):
    result = run("football", "--index", str(small_index))
    assert result.exit_code == 0, result.output
    assert "1. *Football*: United win the cup" in result.output
    assert "BBC · 2021-05-23" in result.output
    assert "&lt;" not in result.output and "<script>" in result.output  # terminal text unescaped
    assert "1–1 of 1 articles" in result.output


def test_json_output_matches_contract(small_index):
    result = run('"Damascus International Airport"', "--index", str(small_index), "--json",
                 "--outlet", "haaretz", "--explain")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["ok"], data["total"], data["page"], data["page_size"]) == (True, 1, 1, 10)
    assert data["hits"][0]["id"] == "a000000000000001"
    assert data["facets"]["outlet"][0] == {"value": "Haaretz", "count": 1, "selected": True}
    assert set(data) >= {"query", "took_ms", "hits", "facets", "truncated_facets", "notice",
                         "suggestion"}
    assert "title_en:\"damascu intern airport\"" in data["explain"]


def test_env_index_filters_dates_and_sort(small_index):
    result = run("", "--json", "--from", "2022-06-17", "--sort", "oldest",
                 env={"NEWSFACET_INDEX": str(small_index)})
    assert result.exit_code == 0, result.output
    assert [h["id"] for h in json.loads(result.output)["hits"]] == ["a000000000000002"]
    result = run("", "--json", "--lang", "de", "--lang", "ar", "--index", str(small_index))
    assert json.loads(result.output)["total"] == 2


def test_notice_suggestion_and_explain(small_index):
    result = run('"damascus', "--index", str(small_index), "--explain")
    assert result.exit_code == 0, result.output
    assert "Note: Closed the unbalanced quote." in result.output
    assert "Query understood as:" in result.output
    result = run("Hezbolah", "--index", str(small_index))
    assert "Did you mean: Hezbollah" in result.output


def test_errors_are_one_line_with_exit_codes(small_index, tmp_path):
    result = run("*", "--index", str(small_index))
    assert result.exit_code == 2
    assert result.output.startswith("Error: A query of only wildcards")
    assert "Traceback" not in result.output
    result = run("x", "--from", "June", "--index", str(small_index))
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output
    result = run("damascus", "--index", str(tmp_path / "none"))
    assert result.exit_code == 1 and "No index at" in result.output
    result = run("x", "--sort", "best", "--index", str(small_index))
    assert result.exit_code == 2


def test_terminal_text():
    assert terminal_text("a <mark>b</mark> &lt;c&gt;", color=False) == "a *b* <c>"
    assert "\x1b[" in terminal_text("<mark>b</mark>", color=True)


def test_an_index_named_relative_to_the_working_folder(small_index, monkeypatch):
    # The default index is `index`, relative: how the README's commands name it. An
    # entity field reads the generation's side store (a read-only SQLite URI).
    monkeypatch.chdir(small_index.parent)
    result = run('person:"Dennis Ross"', "--index", small_index.name, "--json")
    assert result.exit_code == 0, result.output
    absolute = run('person:"Dennis Ross"', "--index", str(small_index), "--json")
    got, want = json.loads(result.output), json.loads(absolute.output)
    assert got["total"] == want["total"] >= 1
    assert [h["id"] for h in got["hits"]] == [h["id"] for h in want["hits"]]
