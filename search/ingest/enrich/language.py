"""Language of an article: langdetect, made deterministic, and ``"und"`` when unsure."""

from __future__ import annotations

from langdetect import DetectorFactory
from langdetect import detector_factory
from langdetect.lang_detect_exception import LangDetectException

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
    if sum(1 for c in sample if c.isalpha()) < MIN_LETTERS:
        return UNDETERMINED
    try:
        best = _probabilities(sample)[0]
    except LangDetectException:
        # "No features in text": digits, punctuation, URLs only.
        return UNDETERMINED
    if best.prob < MIN_PROBABILITY:
        return UNDETERMINED
    return _NORMALISE.get(best.lang, best.lang)


def _probabilities(sample: str) -> list:
    """langdetect's ``detect_langs``, with :data:`LONG_SAMPLE_TRIALS` random trials for a
    long sample."""
    detector_factory.init_factory()  # loads the profiles once
    detector = detector_factory._factory.create()
    if len(sample) >= LONG_SAMPLE_CHARS:
        detector.n_trial = LONG_SAMPLE_TRIALS
    detector.append(sample)
    return detector.get_probabilities()
