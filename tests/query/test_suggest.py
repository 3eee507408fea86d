"""Near spellings: the lookup behind fuzzy terms and "did you mean"."""

from __future__ import annotations

import pytest

from search.models import SearchRequest
from search.query import service
from search.query.suggest import MAX_WORD_LENGTH
from search.query.suggest import Speller
from search.query.suggest import max_distance

WORDS = ["damascus", "damage", "government", "movement", "governments", "syria", "serial"]


def test_near_lists_words_within_the_distance_nearest_first():
    speller = Speller(WORDS)
    assert speller.near("goverment", 2) == [("government", 1), ("governments", 2),
                                            ("movement", 2)]
    assert speller.near("damscus", 1) == [("damascus", 1)]
    assert speller.near("syria", 1) == []  # the word itself is not a near spelling


def test_near_ignores_words_too_long_to_be_words():
    speller = Speller(WORDS + ["x" * (MAX_WORD_LENGTH + 1)])
    assert speller.near("x" * 999, 2) == []
    assert speller.near("x" * (MAX_WORD_LENGTH + 2), 2) == []


@pytest.mark.parametrize("word,dist", [("cat", 1), ("iran", 1), ("syria", 2), ("damascus", 2)])
def test_short_words_get_one_edit_longer_ones_two(word, dist):
    assert max_distance(word) == dist


@pytest.mark.parametrize("q,suggestion", [
    ("Damscus", "Damascus"),
    ("hezbolah", "hezbollah"),
    ("Damscus airport", "Damascus airport"),
])
def test_did_you_mean_on_a_real_index(small_index, q, suggestion):
    r = service.search(small_index, SearchRequest(q=q))
    assert r.suggestion == suggestion
    again = service.search(small_index, SearchRequest(q=suggestion))
    assert again.total > r.total


@pytest.mark.parametrize("q", ["x" * 999, "qqqqzzzz", "zz" * 30 + "~"])
def test_words_with_no_near_spelling_get_a_notice_not_a_suggestion(small_index, q):
    r = service.search(small_index, SearchRequest(q=q))
    assert r.total == 0 and r.suggestion is None
    assert r.notice and "No article matches" in r.notice


def test_fuzzy_terms_expand_through_the_unstemmed_words(small_index):
    found = service.search(small_index, SearchRequest(q="damscus~", page_size=20))
    exact = service.search(small_index, SearchRequest(q="damascus", page_size=20))
    assert found.total == exact.total > 0
    assert {h.id for h in found.hits} == {h.id for h in exact.hits}
