"""The unstemmed words kept beside each generation, and the queries that rely on them."""

from __future__ import annotations

import json
import os

import pytest

from search import analysis
from search import storage
from search import vocabulary
from search.ingest.indexer import index_paths
from search.models import SearchRequest
from search.query import service


def words_of(text: str) -> set[str]:
    c = vocabulary.Collector()
    c.add(text)
    return c.words()


def found(index_dir, q) -> list[str]:
    r = service.search(index_dir, SearchRequest(q=q, page_size=50))
    return sorted(h.title for h in r.hits)


TEXTS = [
    "The U.S. envoy met Beyoncé's manager in São Paulo; a*star ratings were 4.5 out of 5.",
    "Ein Bericht über Straßenbahnen und Zürich, naïve café crème.",
    "تقرير عن الرياض والمملكة العربية السعودية",
    "",
    "I a the of x 1 2 — …",
]


@pytest.mark.parametrize("text", TEXTS)
def test_words_are_the_forms_as_written(text):
    whoosh = {t.text for t in analysis.exact_analyzer()(text)}
    assert words_of(text) == whoosh
    stemmed = {t.text for t in analysis.analyzer("en")(text)}
    if "Beyoncé" in text:  # lower-case, neither folded nor stemmed: every language's form
        assert {"beyoncé", "são", "paulo", "manager", "u.s"} <= words_of(text)
        assert "manag" in stemmed and "manager" not in stemmed


def test_save_merges_sorted_and_replaces_atomically(tmp_path):
    assert vocabulary.load(tmp_path) == []
    vocabulary.save(tmp_path, {"zebra", "apple"})
    vocabulary.save(tmp_path, {"mango", "apple", "çà"})
    assert vocabulary.load(tmp_path) == ["apple", "mango", "zebra", "çà"]
    assert sorted(os.listdir(tmp_path)) == [vocabulary.FILE_NAME]  # no temporary left


def write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_an_update_adds_the_words_of_new_articles(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    write(data / "a.jsonl", [{"title": "Harbour dredging", "text": "The dredgers arrived "
                              "in the harbour of Valparaíso on Monday."}])
    index_paths([data], tmp_path / "ix", processes=1)
    assert "quixotically" not in vocabulary.load(storage.current(tmp_path / "ix"))
    write(data / "b.jsonl", [{"title": "Windmills", "text": "A quixotically ambitious "
                              "government plan for windmills was filed."}])
    index_paths([data], tmp_path / "ix", processes=1)
    words = vocabulary.load(storage.current(tmp_path / "ix"))
    assert {"valparaíso", "dredgers", "quixotically", "windmills"} <= set(words)
    assert words == sorted(words)
    # Prefix, wildcard and fuzzy terms reach words as written, then their stems.
    assert found(tmp_path / "ix", "quixot*") == ["Windmills"]
    assert found(tmp_path / "ix", "quix?tically") == ["Windmills"]
    # A "*" inside a word is matched as typed, also where stemming leaves Whoosh a bare
    # prefix ("govern*ent" parses as "govern*").
    assert found(tmp_path / "ix", "quix*cally") == ["Windmills"]
    assert found(tmp_path / "ix", "govern*ent") == ["Windmills"]
    assert found(tmp_path / "ix", "govern*ents") == []
    assert found(tmp_path / "ix", "quixoticaly~") == ["Windmills"]
    assert found(tmp_path / "ix", "Valpara*") == ["Harbour dredging"]  # accents folded
    assert found(tmp_path / "ix", "title:windm?lls") == ["Windmills"]
    # "Did you mean" proposes a word as written.
    r = service.search(tmp_path / "ix", SearchRequest(q="quixoticaly"))
    assert (r.total, r.suggestion) == (0, "quixotically")


def test_a_deleted_articles_words_find_nothing(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    write(data / "a.jsonl", [{"title": "Harbour", "text": "Dredgers in the harbour."}])
    gone = write(data / "b.jsonl", [{"title": "Windmills", "text": "Quixotically tilting."}])
    index_paths([data], tmp_path / "ix", processes=1)
    gone.unlink()
    index_paths([data], tmp_path / "ix", processes=1)
    # The list only grows, but a word whose stem no article has matches nothing.
    assert "quixotically" in vocabulary.load(storage.current(tmp_path / "ix"))
    r = service.search(tmp_path / "ix", SearchRequest(q="quixot*"))
    assert (r.total, [h.title for h in r.hits]) == (0, [])
    r = service.search(tmp_path / "ix", SearchRequest(q="quixoticaly"))
    assert r.suggestion is None
