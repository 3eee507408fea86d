"""``FastDetector`` against langdetect's own ``Detector``: the same text after each step,
the same n-grams in the same order, and the same probabilities to the last bit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from langdetect import detector_factory
from langdetect.detector import Detector
from langdetect.lang_detect_exception import LangDetectException

from search.ingest.enrich.language import LONG_SAMPLE_TRIALS
from search.ingest.enrich.language import FastDetector
from search.ingest.enrich.language import _sample
from tests.ingest.test_language import bbc_texts
from tests.ingest.test_language import gnad_texts
from tests.ingest.test_language import saudi_texts

detector_factory.init_factory()
FACTORY = detector_factory._factory

# Pieces of text that take every path of langdetect's normalisation: ASCII letters and
# punctuation (capital words, runs of spaces), Latin-1 letters and symbols, Romanian
# comma-below letters, Vietnamese with combining marks and precomposed, Greek, Cyrillic,
# Arabic (Farsi yeh), Hebrew, Devanagari, CJK, kana, bopomofo, hangul, general
# punctuation, digits, an astral character, URLs and e-mail addresses.
PIECES = st.sampled_from([
    "the", "The", "THE", "NATO", "iPhone", "McDonald", "a", "I", " ", "  ", "\n", "\t",
    ",", ".", "'", "-", "_", "[", "`", "2024", "½", "²", "café", "ÉLYSÉE", "Straße",
    "×", "«", "»", "ș", "ț", "Ș", "Tiếng Việt", "Tie\u0302\u0301ng", "ạ", "Ἀθῆναι",
    "Αθήνα", "Москва", "МОСКВА", "السعودية", "ی", "وزير", "ירושלים", "नमस्ते",
    "中国", "東京", "ひらがな", "カタカナ", "ㄅㄆ", "한국어", "\u2014", "\u2019", "\u201c",
    "\U0001f600", "https://example.org/a?b=c", "name@example.com", "ǅ", "ﬁ",
])
TEXTS = st.lists(PIECES, max_size=60).map(" ".join) | st.lists(PIECES, max_size=60).map("".join)


def _steps(cls, text: str) -> tuple[str, str, list[str]]:
    d = cls(FACTORY)
    d.append(text)
    appended = d.text
    d.cleaning_text()
    return appended, d.text, d._extract_ngrams()


def _probabilities(cls, text: str, trials: int):
    d = cls(FACTORY)
    d.n_trial = trials
    d.append(text)
    try:
        return [(x.lang, x.prob) for x in d.get_probabilities()]
    except LangDetectException as e:
        return str(e)


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_same_steps_as_langdetect(text):
    assert _steps(FastDetector, text) == _steps(Detector, text)


@settings(max_examples=100, deadline=None)
@given(TEXTS, st.sampled_from([LONG_SAMPLE_TRIALS, 7]))
def test_same_probabilities_as_langdetect(text, trials):
    assert _probabilities(FastDetector, text, trials) == _probabilities(Detector, text, trials)


@pytest.mark.corpus
def test_same_probabilities_on_real_articles():
    texts = [_sample(t) for t in bbc_texts(40) + gnad_texts(40) + saudi_texts(40)]
    for text in texts:
        assert _steps(FastDetector, text) == _steps(Detector, text)
        assert _probabilities(FastDetector, text, LONG_SAMPLE_TRIALS) == \
            _probabilities(Detector, text, LONG_SAMPLE_TRIALS)
