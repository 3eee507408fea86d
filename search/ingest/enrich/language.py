"""Language of an article: langdetect, made deterministic, and ``"und"`` when unsure."""

from __future__ import annotations

import re

import numpy as np
from langdetect import DetectorFactory
from langdetect import detector_factory
from langdetect.detector import Detector
from langdetect.lang_detect_exception import ErrorCode
from langdetect.lang_detect_exception import LangDetectException
from langdetect.utils.ngram import NGram

# langdetect samples n-grams at random; a fixed seed makes the same text always get the
# same answer (an index rebuilt twice must facet the same way). Set once, at import.
DetectorFactory.seed = 0

UNDETERMINED = "und"
# langdetect is on the text stage's critical path (it runs in the one writing process),
# and half of its time is spent collecting the sample's n-grams: 800 characters take
# 1.7 ms an article where 1,500 took 3.1 ms, and gave the same answer on every article
# of bbc-news, 10kgnad-de, 3,000 of saudinewsnet-ar and fakenewsnet-content (bench:
# `python -m bench.language_accuracy --samples`).
SAMPLE_CHARS = 800
# langdetect averages seven random walks over the sample's n-grams. On a sample of
# article length three agree with seven (one answer in 11,000 changed, over all four
# corpora: `python -m bench.language_accuracy --trials`) and take 30% less time; on
# headline-length text they changed 5% of answers, so short samples keep seven.
LONG_SAMPLE_CHARS = 400
LONG_SAMPLE_TRIALS = 3
# Fewer letters than this is a headline fragment or a caption: too little to tell.
MIN_LETTERS = 20
# Below this top probability langdetect is guessing between languages.
MIN_PROBABILITY = 0.80
# langdetect's regional Chinese codes collapse to the ISO 639-1 code.
_NORMALISE = {"zh-cn": "zh", "zh-tw": "zh"}


def _sample(text: str) -> str:
    """The first :data:`SAMPLE_CHARS` characters, cut back to a word boundary."""
    if len(text) <= SAMPLE_CHARS:
        return text
    cut = text.rfind(" ", SAMPLE_CHARS // 2, SAMPLE_CHARS)
    return text[: cut if cut > 0 else SAMPLE_CHARS]


def detect_language(text: str) -> str:
    """The ISO 639-1 code of ``text``'s language, or ``"und"`` when it cannot be told.

    Only the first :data:`SAMPLE_CHARS` characters are read. ``"und"`` is returned for
    text with fewer than :data:`MIN_LETTERS` letters, when langdetect's best guess has
    a probability under :data:`MIN_PROBABILITY`, or when langdetect finds no features.

    >>> detect_language("The minister said the talks would resume on Monday in Brussels.")
    'en'
    >>> detect_language("OK")
    'und'

    :param text: any text (title, caption and body joined are the usual input)
    """
    sample = _sample(text or "")
    if not _has_letters(sample, MIN_LETTERS):
        return UNDETERMINED
    try:
        best = _probabilities(sample)[0]
    except LangDetectException:
        # "No features in text": digits, punctuation, URLs only.
        return UNDETERMINED
    if best.prob < MIN_PROBABILITY:
        return UNDETERMINED
    return _NORMALISE.get(best.lang, best.lang)


class _Normalised(dict):
    """``str.translate`` table of langdetect's per-character normalisation
    (``NGram.normalize``), filled in as characters are first seen."""

    def __missing__(self, code: int) -> str:
        self[code] = out = NGram.normalize(chr(code))
        return out


_NORMALISED = _Normalised()
_SPACES = re.compile(" +")
_LATIN = re.compile("[A-z]")  # langdetect's 'A' <= ch <= 'z', punctuation between included
# At or above U+0300. langdetect means to leave out the Latin Extended Additional block,
# but compares the block's number with its name, so it never does; nor does this.
_NON_LATIN = re.compile("[\u0300-\U0010ffff]")


class FastDetector(Detector):
    """langdetect's ``Detector`` with the same answers, in under half the time (12.7 s ->
    5.5 s on bench.indexing's 10,056 texts).

    langdetect spends two thirds of its time collecting a sample's n-grams one
    character at a time through method calls and a bisect of Unicode blocks per
    character. These overrides do the same steps with ``str.translate``, regular
    expressions and slices, and produce the same n-grams in the same order, so the
    seeded random walks over them, and every probability, are unchanged
    (``tests/ingest/test_language_detector.py`` holds them to langdetect's own methods).
    """

    def append(self, text: str) -> None:
        text = self.URL_RE.sub(" ", text)
        text = self.MAIL_RE.sub(" ", text)
        text = NGram.normalize_vi(text)
        # Runs of spaces become one (a leading space stays, as langdetect keeps it).
        self.text += _SPACES.sub(" ", text[: self.max_text_length])

    def cleaning_text(self) -> None:
        text = self.text
        if len(_LATIN.findall(text)) * 2 < len(_NON_LATIN.findall(text)):
            self.text = _LATIN.sub("", text)

    def _extract_ngrams(self) -> list[str]:
        # langdetect's NGram keeps the last three normalised characters since the last
        # space, the space included; a character that is upper case after an upper-case
        # one ("capital word") adds none. A space after a word adds the word's last two
        # characters with the space (and the space before them when the word is short).
        known = self.word_lang_prob_map
        result: list[str] = []
        add = result.append
        words = self.text.translate(_NORMALISED).split(" ")
        last = len(words) - 1
        for i, word in enumerate(words):
            if not word:
                continue
            p = " " + word
            for j, ch in enumerate(word):
                if ch.isupper() and p[j].isupper():
                    continue
                if ch in known:
                    add(ch)
                two = p[j:j + 2]
                if two in known:
                    add(two)
                if j:
                    three = p[j - 1:j + 2]
                    if three in known:
                        add(three)
            if i < last:
                two = word[-1] + " "
                if two in known:
                    add(two)
                three = p[-2:] + " "
                if three in known:
                    add(three)
        return result

    def _detect_block(self) -> None:
        # langdetect's random walks, step for step: the same seeded draws, and each
        # language's probability multiplied, summed (left to right, as cumsum does) and
        # divided in the same order, so the results are equal to the last bit. NumPy
        # does the per-language arithmetic that langdetect loops over in Python.
        self.cleaning_text()
        ngrams = self._extract_ngrams()
        if not ngrams:
            raise LangDetectException(ErrorCode.CantDetectError, "No features in text.")
        table = self.word_lang_prob_map
        langprob = np.zeros(len(self.langlist))
        self.random.seed(self.seed)
        for _ in range(self.n_trial):
            prob = np.array(self._init_probability())
            alpha = self.alpha + self.random.gauss(0.0, 1.0) * self.ALPHA_WIDTH
            weight = alpha / self.BASE_FREQ
            i = 0
            while True:
                prob *= weight + _row(table, self.random.choice(ngrams))
                if i % 5 == 0:
                    prob /= np.cumsum(prob)[-1]
                    if max(0.0, prob.max()) > self.CONV_THRESHOLD or i >= self.ITERATION_LIMIT:
                        break
                i += 1
            langprob += prob / self.n_trial
        self.langprob = langprob.tolist()


# Each n-gram's row of per-language probabilities as an array, made the first time the
# n-gram is drawn: only the n-grams an archive's languages use, not all 87,598 of
# langdetect's profiles (38 MB as one matrix).
_ROWS: dict[str, np.ndarray] = {}


def _row(table: dict, ngram: str) -> np.ndarray:
    row = _ROWS.get(ngram)
    if row is None:
        row = _ROWS[ngram] = np.array(table[ngram])
    return row


def _has_letters(text: str, n: int) -> bool:
    """Whether ``text`` holds at least ``n`` letters (stops counting at ``n``)."""
    for c in text:
        if c.isalpha():
            n -= 1
            if n <= 0:
                return True
    return n <= 0


def _probabilities(sample: str) -> list:
    """langdetect's ``detect_langs`` (through :class:`FastDetector`), with
    :data:`LONG_SAMPLE_TRIALS` random trials for a long sample."""
    detector_factory.init_factory()  # loads the profiles once
    detector = FastDetector(detector_factory._factory)
    if len(sample) >= LONG_SAMPLE_CHARS:
        detector.n_trial = LONG_SAMPLE_TRIALS
    detector.append(sample)
    return detector.get_probabilities()
