"""Entity resolution across a hand-written archive whose right answer is known.

Every article goes through the real clean-up (:func:`clean_entities`) and evidence
(:func:`mention_evidence`) code from the ``(spaCy label, mention)`` pairs NER would give,
so the test reads what the enrichment cache would hold.
"""

from __future__ import annotations

import dataclasses

from search.ingest.enrich.cache import EnrichCache
from search.ingest.enrich.entities import clean_entities
from search.ingest.enrich.entities import line_of
from search.ingest.enrich.entities import mention_evidence
from search.models import Article
from search.models import Entities
from search.models import SearchRequest
from search.query import service
from search.resolve import BOILERPLATE
from search.resolve import Evidence
from search.resolve import Resolution
from search.resolve import resolve
from tests.conftest import write_articles_index


def _article(text: str, mentions: list[tuple[str, ...]]) -> Entities:
    """Entities as the extractor makes them from ``(label, mention[, word before[, word
    after]])``."""
    pairs = [(m[0], m[1]) for m in mentions]
    before = [m[2] if len(m) > 2 else "" for m in mentions]
    after = [m[3] if len(m) > 3 else "" for m in mentions]
    return dataclasses.replace(clean_entities(text, pairs),
                               evidence=mention_evidence(text, pairs, before, after))


def _resolve(rows: list[tuple[str, list[tuple[str, ...]]]]) -> Resolution:
    """The resolution of an archive of ``(text, mentions)`` articles."""
    return resolve({f"a{i:04d}": _article(text, mentions)
                    for i, (text, mentions) in enumerate(rows)})


def archive() -> dict[str, tuple[str, Entities]]:
    """Article id -> (text, entities): the hand-written archive."""
    rows: list[tuple[str, list[tuple[str, str]]]] = []
    # Chelsea: an organisation in four articles, a person in two.
    rows += [("Chelsea beat Arsenal.", [("ORG", "Chelsea"), ("ORG", "Arsenal")])] * 4
    rows += [("Chelsea won again.", [("PERSON", "Chelsea")])] * 2
    # George W Bush named in full in five articles, "Bush" alone in three, Kate Bush once.
    rows += [("George W. Bush spoke. Bush said no.", [("PERSON", "George W. Bush"),
                                                     ("PERSON", "Bush")])] * 5
    rows += [("President Bush spoke.", [("PERSON", "Bush")])] * 3
    rows += [("Kate Bush sang.", [("PERSON", "Kate Bush")])]
    # Johnson: two people as often, so "Johnson" alone is nobody in particular.
    rows += [("Boris Johnson spoke.", [("PERSON", "Boris Johnson")])] * 3
    rows += [("Magic Johnson played.", [("PERSON", "Magic Johnson")])] * 3
    rows += [("Johnson said.", [("PERSON", "Johnson")])] * 3
    # IMF: spelled out beside its acronym in two articles, alone in three.
    rows += [("The International Monetary Fund (IMF) warned.",
              [("ORG", "International Monetary Fund"), ("ORG", "IMF")])] * 2
    rows += [("The IMF warned.", [("ORG", "IMF")])] * 3
    # Lib Dems / Lib Dem: one party (in the plural more often), and a possessive.
    rows += [("The Lib Dems' leader spoke.", [("ORG", "Lib Dems'")])] * 3
    rows += [("A Lib Dem spokesman said.", [("ORG", "Lib Dem")])] * 2
    # ... which the model calls a political group (NORP) in full, after "the".
    rows += [("The Liberal Democrats, or Lib Dems, said.",
              [("NORP", "Liberal Democrats", "the"), ("ORG", "Lib Dems")])] * 3
    # "British": a nationality, never after "the".
    rows += [("British troops left.", [("NORP", "British")])] * 3
    rows += [("A British minister said.", [("PERSON", "British", "a")])]
    # Syria in capitals in a dateline, and with a possessive.
    rows += [("SYRIA - Syria's army moved.", [("GPE", "SYRIA"), ("GPE", "Syria's")])]
    rows += [("Syria said.", [("GPE", "Syria")])] * 3
    # Oscar: an award, called a person once and a work of art or event elsewhere.
    rows += [("He won an Oscar.", [("PERSON", "Oscar")])]
    rows += [("The Oscar went to her.", [("WORK_OF_ART", "Oscar")])] * 2
    rows += [("At the Oscar ceremony.", [("EVENT", "Oscar")])] * 2
    # "State": a common word the model sometimes calls an organisation.
    rows += [("The State said the state of play was bad.", [("ORG", "State")])] * 3
    # "the Welsh": the model's person, after "the" as no person is.
    rows += [("The Welsh won.", [("PERSON", "Welsh", "the")])] * 3
    rows += [("Welsh fans sang.", [("PERSON", "Welsh")])] * 2
    # "1800 GMT": a time zone the model calls an organisation.
    rows += [("The vote closes at 1800 GMT.", [("ORG", "GMT", "1800")])] * 3
    # "his iPod": a thing one has, the model's organisation.
    rows += [("He lost his iPod.", [("ORG", "iPod", "his")]), ("Apple's iPod sold.",
                                                             [("ORG", "iPod", "'s")])] * 3
    out = {}
    for i, (text, mentions) in enumerate(rows):
        out[f"a{i:04d}"] = (text, _article(text, mentions))
    return out


def entities_of(arch) -> dict[str, Entities]:
    return {aid: ents for aid, (_, ents) in arch.items()}


def facet_values(resolution: Resolution, arch) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {"person": set(), "org": set(), "place": set()}
    for ents in entities_of(arch).values():
        resolved = resolution.apply(ents)
        for kind in out:
            out[kind] |= set(getattr(resolved, kind))
    return out


def test_one_type_per_value_by_the_votes_of_the_articles():
    r = resolve(entities_of(archive()))
    assert r.lookup("Chelsea", "person") == ("Chelsea", "org")
    assert r.lookup("Chelsea", "org") == ("Chelsea", "org")
    values = facet_values(r, archive())
    assert "Chelsea" in values["org"] and "Chelsea" not in values["person"]


def test_a_surname_joins_the_full_name_that_dominates():
    r = resolve(entities_of(archive()))
    # "George W. Bush" and "George W Bush" are one spelling; "Bush" alone is him.
    assert r.lookup("Bush", "person") == ("George W. Bush", "person")
    assert r.lookup("Kate Bush", "person") == ("Kate Bush", "person")


def test_a_surname_shared_by_two_people_is_not_merged():
    r = resolve(entities_of(archive()))
    found = r.lookup("Johnson", "person")
    assert found is None  # nobody in particular: left out of the facet
    assert r.lookup("Boris Johnson", "person") == ("Boris Johnson", "person")
    assert r.lookup("Magic Johnson", "person") == ("Magic Johnson", "person")


def test_an_acronym_joins_its_expansion_named_in_the_same_articles():
    r = resolve(entities_of(archive()))
    assert r.lookup("IMF", "org") == ("International Monetary Fund", "org")
    values = facet_values(r, archive())
    assert "IMF" not in values["org"]


def test_plural_possessive_and_case_variants_are_one_value():
    arch = archive()
    r = resolve(entities_of(arch))
    # one party, in full: the plural, the singular and the shortened words
    assert r.lookup("Lib Dem", "org") == ("Liberal Democrats", "org")
    assert r.lookup("Lib Dems", "org") == ("Liberal Democrats", "org")
    assert r.lookup("SYRIA", "place") == ("Syria", "place")
    # one article naming both forms shows the value once
    both = Entities(org=("Lib Dem", "Lib Dems"), place=("SYRIA", "Syria"))
    assert r.apply(both) == Entities(org=("Liberal Democrats",), place=("Syria",))


def test_values_that_are_not_people_organisations_or_places_are_dropped():
    arch = archive()
    r = resolve(entities_of(arch))
    assert r.lookup("Oscar", "person") is None
    assert r.lookup("State", "org") is None
    assert r.lookup("Welsh", "person") is None
    assert r.lookup("GMT", "org") is None
    assert r.lookup("iPod", "org") is None
    assert r.lookup("British", "person") is None  # a nationality
    values = facet_values(r, arch)
    assert not {"Oscar", "State"} & (values["person"] | values["org"] | values["place"])
    # the facet values as clean-up left them held both
    assert "Oscar" in {v for e in entities_of(arch).values() for v in e.person}


def test_deterministic_whatever_the_order_of_the_articles():
    ents = entities_of(archive())
    forward = resolve(ents)
    backward = resolve(dict(reversed(list(ents.items()))))
    assert forward == backward
    assert forward.rows() == backward.rows() == resolve(ents).rows()


def test_incremental_equals_from_scratch():
    ents = entities_of(archive())
    ids = sorted(ents)
    evidence = Evidence({aid: ents[aid] for aid in ids[:10]})
    for aid in ids[10:]:
        evidence.add(aid, ents[aid])
    evidence.add("extra", _article("Bush spoke.", [("PERSON", "Bush")]))
    evidence.remove(ids[0])
    evidence.remove("never-there")
    final = {aid: ents[aid] for aid in ids[1:]}
    final["extra"] = evidence.articles["extra"]
    assert resolve(evidence) == resolve(final)
    # ... and the removal mattered: with the articles gone, the answer changes
    only_bush = {aid: e for aid, e in final.items() if "Bush" in {v for v, *_ in e.evidence}
                 and "George W. Bush" not in e.person}
    assert resolve(only_bush).lookup("Bush", "person") == ("Bush", "person")


def test_rows_round_trip():
    r = resolve(entities_of(archive()))
    again = Resolution.from_rows(r.rows())
    assert again == r
    assert Resolution.from_rows([tuple(vars(row).values()) for row in r.rows()]) == r
    # a value the resolution never saw (an article added since) is left as it is
    assert r.lookup("Angela Merkel", "person") == ("Angela Merkel", "person")


def test_evidence_survives_the_enrichment_cache(tmp_path):
    ents = entities_of(archive())
    cache = EnrichCache(tmp_path)
    cache.put_many([(aid, "en", e) for aid, e in ents.items()])
    back = {aid: cache.get(aid)[1] for aid in ents}
    many = cache.get_many([*ents, "not-cached"])
    cache.close()
    assert set(many) == set(ents)
    assert all(many[aid][1].evidence == back[aid].evidence for aid in ents)
    assert all(back[aid].evidence == ents[aid].evidence for aid in ents)
    assert resolve(back) == resolve(ents)


def test_resolution_never_changes_which_articles_match_a_text_query(tmp_path):
    arch = archive()
    r = resolve(entities_of(arch))
    raw, resolved = [], []
    for aid, (text, ents) in arch.items():
        article = Article(id=f"{int(aid[1:]):016x}", source=f"hand/{aid}.txt", record=None,
                          title=text.split(".")[0], body=text, lang="en", entities=ents)
        raw.append(article)
        resolved.append(article.replace(entities=r.apply(ents)))
    before = write_articles_index(raw, tmp_path / "before")
    after = write_articles_index(resolved, tmp_path / "after")
    for q in ("Bush", "Johnson", "IMF", "Oscar", "Chelsea", "state", "Lib Dems", "Syria"):
        request = SearchRequest(q=q, page_size=100)
        hits_before = {h.id for h in service.search(before, request).hits}
        hits_after = {h.id for h in service.search(after, request).hits}
        assert hits_before and hits_before == hits_after, q
    # ... while the facets did change
    facets = service.search(after, SearchRequest(q="Bush", page_size=0, more=("person",))).facets
    assert "Bush" not in {v.value for v in facets["person"]}


def test_a_name_followed_by_the_nouns_of_a_thing_is_no_organisation_or_person():
    rows = []
    # "Xbox games", "Xbox console": a product, though the model says organisation
    rows += [("Xbox games sold.", [("ORG", "Xbox", "", "games")])] * 4
    rows += [("The Xbox console.", [("ORG", "Xbox", "the", "console")])] * 2
    rows += [("He bought an Xbox.", [("ORG", "Xbox", "", "today")])] * 4
    # "Harry Potter films": the model's person is a work
    rows += [("Harry Potter films.", [("PERSON", "Harry Potter", "", "films")])] * 3
    rows += [("Harry Potter won.", [("PERSON", "Harry Potter", "", "won")])] * 3
    # must not apply: Sony acts, and "Sony's games" are what an agent owns
    rows += [("Sony said so.", [("ORG", "Sony", "", "said")])] * 3
    rows += [("Sony's games sold.", [("ORG", "Sony", "", "'s games")])] * 4
    # ... nor a real person named like a product, who speaks
    rows += [("Ray Ban said no.", [("PERSON", "Ray Ban", "", "said")])] * 6
    r = _resolve(rows)
    assert r.lookup("Xbox", "org") is None
    assert r.lookup("Harry Potter", "person") is None
    assert r.lookup("Sony", "org") == ("Sony", "org")
    assert r.lookup("Ray Ban", "person") == ("Ray Ban", "person")


def test_a_place_never_named_after_in_is_the_person_the_model_also_sees():
    rows = []
    # "Rihanna": a place by the model's votes, never "in Rihanna", a person in 40% of
    # its mentions
    rows += [("Rihanna sang.", [("GPE", "Rihanna", "", "sang"), ("GPE", "Rihanna", "", "and"),
                                ("PERSON", "Rihanna", "singer", "was")])] * 5
    # must not apply: a real place named after "in", though also called a person
    rows += [("In Paris.", [("GPE", "Paris", "in", ""), ("GPE", "Paris", "", "said"),
                            ("PERSON", "Paris", "", "")])] * 5
    # ... nor a place never after "in" the model never calls anything else
    rows += [("Georgia voted.", [("GPE", "Georgia", "", "voted")] * 2)] * 6
    r = _resolve(rows)
    assert r.lookup("Rihanna", "place") == ("Rihanna", "person")
    assert r.lookup("Paris", "place") == ("Paris", "place")
    assert r.lookup("Georgia", "place") == ("Georgia", "place")


def test_country_and_city_short_forms_and_party_nicknames_are_one_value():
    rows = []
    rows += [("America voted.", [("GPE", "America")])] * 3
    rows += [("The United States voted.", [("GPE", "the United States")])] * 5
    rows += [("Holland won.", [("GPE", "Holland")])] * 2
    rows += [("The Netherlands won.", [("GPE", "the Netherlands")])]
    rows += [("The GOP met.", [("ORG", "GOP", "the")])] * 4
    rows += [("The Republican Party met.", [("ORG", "Republican Party", "the")])] * 2
    # must not apply: "Latin America" is another place; "Tories" without the party
    # named in full stays as it is
    rows += [("Latin America grew.", [("LOC", "Latin America")])] * 2
    rows += [("The Tories met.", [("ORG", "Tories", "the")])] * 3
    r = _resolve(rows)
    assert r.lookup("America", "place") == ("United States", "place")
    assert r.lookup("Holland", "place") == ("Netherlands", "place")
    assert r.lookup("GOP", "org") == ("Republican Party", "org")
    assert r.lookup("Latin America", "place") == ("Latin America", "place")
    assert r.lookup("Tories", "org") == ("Tories", "org")


def test_the_head_of_an_x_of_y_name_is_that_name():
    rows = []
    rows += [("The House of Representatives voted; the House met.",
              [("ORG", "House of Representatives", "the"), ("ORG", "House", "the")])] * 3
    rows += [("The House voted.", [("ORG", "House", "the")])] * 3
    rows += [("The House of Cards.", [("ORG", "House of Cards", "the")])]
    r = _resolve(rows)
    assert r.lookup("House", "org") == ("House of Representatives", "org")
    # must not apply: a common word ("house prices" in most of its articles)
    rows = [("The House of Lords met; the House sat.",
             [("ORG", "House of Lords", "the"), ("ORG", "House", "the")])] * 3
    rows += [("House prices rose: every house cost more.", [("ORG", "House")])] * 6
    r = _resolve(rows)
    assert r.lookup("House", "org") is None


def test_a_given_name_joins_the_one_person_of_its_family_the_articles_name():
    rows = []
    # "Shiloh" (the model's place) in articles about Angelina Jolie and Brad Pitt; the
    # full name "Shiloh Jolie-Pitt" written once
    rows += [("Angelina Jolie and Brad Pitt took Shiloh out.",
              [("PERSON", "Angelina Jolie"), ("PERSON", "Brad Pitt"), ("GPE", "Shiloh")])] * 4
    rows += [("Shiloh Jolie-Pitt and Shiloh.",
              [("PERSON", "Shiloh Jolie-Pitt"), ("GPE", "Shiloh")])]
    rows += [("Angelina Jolie spoke.", [("PERSON", "Angelina Jolie")])] * 3
    # must not apply: Paris, a city, with one article about Paris Hilton
    rows += [("In Paris, talks.", [("GPE", "Paris", "in")])] * 6
    rows += [("Paris Hilton and Paris.", [("PERSON", "Paris Hilton"), ("GPE", "Paris")])]
    rows += [("Paris Hilton sang.", [("PERSON", "Paris Hilton")])] * 2
    r = _resolve(rows)
    assert r.lookup("Shiloh", "place") == ("Shiloh Jolie-Pitt", "person")
    assert r.lookup("Paris", "place") == ("Paris", "place")


def test_a_surname_after_a_title_is_the_person_of_that_surname():
    rows = []
    rows += [("David Petraeus spoke.", [("PERSON", "David Petraeus")])] * 4
    rows += [("General Petraeus said.", [("ORG", "General Petraeus", "", "said")])] * 3
    # must not apply: General Motors names no person
    rows += [("General Motors said.", [("ORG", "General Motors", "", "said")])] * 3
    r = _resolve(rows)
    assert r.lookup("General Petraeus", "org") == ("David Petraeus", "person")
    assert r.lookup("General Motors", "org") == ("General Motors", "org")


def test_spellings_a_vowel_apart_are_one_organisation_but_two_people():
    rows = []
    rows += [("Al Qaida struck.", [("ORG", "Al Qaida")])] * 3
    rows += [("al Qaeda struck.", [("ORG", "al Qaeda")])] * 5
    rows += [("Mark Jones spoke.", [("PERSON", "Mark Jones")])] * 3
    rows += [("Mark Jonas spoke.", [("PERSON", "Mark Jonas")])] * 3
    r = _resolve(rows)
    assert r.lookup("Al Qaida", "org") == ("al Qaeda", "org")
    assert r.lookup("Mark Jonas", "person") == ("Mark Jonas", "person")
    assert r.lookup("Mark Jones", "person") == ("Mark Jones", "person")


def test_a_family_named_in_the_plural_is_no_organisation():
    rows = []
    rows += [("Kim Kardashian spoke.", [("PERSON", "Kim Kardashian")])] * 3
    rows += [("Khloe Kardashian spoke.", [("PERSON", "Khloe Kardashian")])] * 3
    rows += [("The Kardashians met.", [("NORP", "Kardashians", "the")])] * 4
    rows += [("The Kardashians met.", [("ORG", "Kardashians", "the")])] * 2
    # must not apply: a party named in the plural after "the"
    rows += [("The Democrats met.", [("NORP", "Democrats", "the")])] * 4
    rows += [("The Democrats met.", [("ORG", "Democrats", "the")])] * 2
    r = _resolve(rows)
    assert r.lookup("Kardashians", "org") is None
    assert r.lookup("Democrats", "org") == ("Democrats", "org")


def test_a_person_whose_given_name_the_model_takes_for_a_place_is_no_club():
    rows = []
    # "Tristan" (a place to the model) and "Thompson" (an organisation to it) do not
    # make "Tristan Thompson" a club: Tristan is never "in Tristan"
    rows += [("Tristan Thompson played.", [("PERSON", "Tristan Thompson")])] * 4
    rows += [("Tristan left.", [("GPE", "Tristan", "", "left")])] * 3
    rows += [("Thompson said.", [("ORG", "Thompson", "", "said")])] * 3
    # must not apply: Manchester is somewhere, United an organisation
    rows += [("Manchester United won.", [("PERSON", "Manchester United")])] * 4
    rows += [("In Manchester.", [("GPE", "Manchester", "in")])] * 3
    rows += [("United won.", [("ORG", "United")])] * 3
    r = _resolve(rows)
    assert r.lookup("Tristan Thompson", "person") == ("Tristan Thompson", "person")
    assert r.lookup("Manchester United", "person") == ("Manchester United", "org")


def test_a_value_the_model_often_calls_a_work_or_event_or_cannot_place_is_dropped():
    rows = []
    # "Wimbledon": an event in a quarter of its mentions or more
    rows += [("Wimbledon began.", [("EVENT", "Wimbledon"), ("GPE", "Wimbledon")])] * 4
    rows += [("In Wimbledon.", [("GPE", "Wimbledon", "in")])] * 2
    # "the Blues": a person, an organisation and a place, none in 45% of its articles
    rows += [("The Blues won.", [("PERSON", "Blues", "the")])] * 3
    rows += [("The Blues lost.", [("ORG", "Blues", "the")])] * 3
    rows += [("The Blues drew.", [("GPE", "Blues", "the")])] * 2
    # must not apply: London, a place in most articles, a work once
    rows += [("In London.", [("GPE", "London", "in")])] * 8
    rows += [("London Calling.", [("WORK_OF_ART", "London")])]
    r = _resolve(rows)
    assert r.lookup("Wimbledon", "place") is None
    assert r.lookup("Blues", "org") is None
    assert r.lookup("London", "place") == ("London", "place")


def test_a_one_word_organisation_joins_the_far_more_used_name_it_begins():
    rows = []
    rows += [("The Liberal leader spoke.", [("ORG", "Liberal", "the")])] * 3
    rows += [("The Liberal Democrats met.", [("ORG", "Liberal Democrats", "the")])] * 8
    # must not apply: Apple is used more than the longer name it begins
    rows += [("Apple sold phones.", [("ORG", "Apple")])] * 6
    rows += [("Apple Records sold records.", [("ORG", "Apple Records")])] * 3
    r = _resolve(rows)
    assert r.lookup("Liberal", "org") == ("Liberal Democrats", "org")
    assert r.lookup("Apple", "org") == ("Apple", "org")


def test_a_titled_organisation_is_a_person_a_medium_is_not():
    rows = []
    # "Mr Campbell", the model's organisation: the person Alastair Campbell
    rows += [("Mr Campbell said.", [("ORG", "Campbell", "mr", "said")])] * 4
    rows += [("Campbell left.", [("ORG", "Campbell", "", "left")])] * 2
    rows += [("Alastair Campbell spoke.", [("PERSON", "Alastair Campbell")])] * 4
    # "on Twitter": the model's person is a medium
    rows += [("He wrote on Twitter.", [("PERSON", "Twitter", "on", "that")])] * 8
    rows += [("Twitter fans.", [("PERSON", "Twitter", "", "fans")])] * 3
    # must not apply: "Mr Houston" as often as "in Houston", a place; a person the
    # articles put "on" a list now and then
    rows += [("Mr Houston said.", [("GPE", "Houston", "mr", "said")])] * 3
    rows += [("In Houston.", [("GPE", "Houston", "in", "")])] * 3
    rows += [("Pressure on Tony Blair.", [("PERSON", "Tony Blair", "on", "")])]
    rows += [("Tony Blair said.", [("PERSON", "Tony Blair", "", "said")])] * 9
    r = _resolve(rows)
    assert r.lookup("Campbell", "org") == ("Alastair Campbell", "person")
    assert r.lookup("Twitter", "person") is None
    assert r.lookup("Houston", "place") == ("Houston", "place")
    assert r.lookup("Tony Blair", "person") == ("Tony Blair", "person")


def test_religions_quiet_programmes_and_sites_are_told_from_organisations():
    rows = []
    # "Islam": a religion (NORP) to the model in a third of its mentions, never "the"
    rows += [("Islam grew.", [("ORG", "Islam"), ("ORG", "Islam"), ("NORP", "Islam")])] * 4
    # "Medicare": a thing's name now and then ("Medicare benefits"), never acting
    rows += [("Medicare benefits.", [("ORG", "Medicare", "", "benefits")] +
              [("ORG", "Medicare", "", "and")] * 9)] * 3
    rows += [("Medicare grew.", [("ORG", "Medicare", "", "grew")] * 10)]
    # "the Oval Office", "Capitol Hill": after "in" / "on" most of the time
    rows += [("In the Oval Office.", [("ORG", "Oval Office", "in the")])] * 6
    rows += [("The Oval Office.", [("ORG", "Oval Office", "the")])] * 4
    rows += [("On Capitol Hill.", [("ORG", "Capitol Hill", "on")])] * 6
    rows += [("Capitol Hill.", [("ORG", "Capitol Hill")])] * 4
    # must not apply: a party named "the Democrats" (NORP), an organisation that names
    # things and speaks ("CNN films", "CNN reported"), one that is sometimes "in"
    # ("in Congress") or "on" ("on Instagram")
    rows += [("The Democrats met.", [("NORP", "Democrats", "the"), ("ORG", "Democrats", "the")])] * 4
    rows += [("CNN films.", [("ORG", "CNN", "", "films")] + [("ORG", "CNN", "", "reported")] * 2 +
              [("ORG", "CNN", "", "and")] * 7)] * 3
    rows += [("In Congress.", [("ORG", "Congress", "in")])] * 2
    rows += [("Congress voted.", [("ORG", "Congress", "", "voted")])] * 8
    rows += [("On Instagram.", [("ORG", "Instagram", "on")])] * 3
    rows += [("Instagram said.", [("ORG", "Instagram", "", "said")])] * 7
    r = _resolve(rows)
    assert r.lookup("Islam", "org") is None
    assert r.lookup("Medicare", "org") is None
    assert r.lookup("Oval Office", "org") == ("Oval Office", "place")
    assert r.lookup("Capitol Hill", "org") == ("Capitol Hill", "place")
    assert r.lookup("Democrats", "org") == ("Democrats", "org")
    assert r.lookup("CNN", "org") == ("CNN", "org")
    assert r.lookup("Congress", "org") == ("Congress", "org")
    assert r.lookup("Instagram", "org") == ("Instagram", "org")


def _site_article(text: str, mentions: list[tuple[str, str]],
                  apposed: list[str] | None = None) -> Entities:
    """Entities as the extractor makes them, with the line key of each mention (found in
    ``text`` in order) and the people in apposition, as enrichment cache version 9 has."""
    pairs = [(label, mention) for label, mention in mentions]
    lines, at = [], 0
    for _, mention in pairs:
        start = text.index(mention, at)
        at = start + len(mention)
        lines.append(line_of(text, start, at))
    return dataclasses.replace(clean_entities(text, pairs), evidence=mention_evidence(
        text, pairs, lines=lines, apposed=apposed))


def _archive(rows: list[tuple[str, str, list[tuple[str, str]]]]) -> Evidence:
    """An archive of ``(outlet, text, mentions)`` articles."""
    evidence = Evidence()
    for i, (outlet, text, mentions) in enumerate(rows):
        evidence.add(f"a{i:04d}", _site_article(text, mentions), outlet=outlet)
    return evidence


def test_a_value_named_only_in_one_sites_boilerplate_is_dropped():
    rows = []
    footer = "Please enable JavaScript to view the comments powered by Disqus."
    # a site's footer in six of its pages (each with its own news): JavaScript is named
    # only there; Disqus there and in news of its own, in more articles than not
    for i in range(6):
        rows.append(("site.example", f"Story {i} on the vote.\nOfficials from Ohio {i} spoke.\n"
                     f"{footer}", [("GPE", "Ohio"), ("ORG", "JavaScript"), ("ORG", "Disqus")]))
    for i in range(7):
        rows.append((f"paper{i}.example", f"Disqus said on day {i} that it raised money.",
                     [("ORG", "Disqus")]))
    # must not apply: the same sentence quoted by six outlets, one each ...
    quote = "Sophos said the attack hit thousands of computers."
    for i in range(6):
        rows.append((f"outlet{i}.example", f"Report {i}.\n{quote}\nMore on day {i}.",
                     [("ORG", "Sophos")]))
    # ... and one outlet repeating a paragraph in four follow-ups (under BOILERPLATE)
    para = "Greenpeace said the ship had left port."
    for i in range(4):
        rows.append(("daily.example", f"Follow-up {i}.\n{para}", [("ORG", "Greenpeace")]))
    r = resolve(_archive(rows))
    assert BOILERPLATE == 5
    assert r.lookup("JavaScript", "org") is None
    assert r.lookup("Disqus", "org") == ("Disqus", "org")
    assert r.lookup("Sophos", "org") == ("Sophos", "org")
    assert r.lookup("Greenpeace", "org") == ("Greenpeace", "org")
    # the same archive without outlets (evidence before version 9 has no line keys; an
    # index without outlets): the quote is one outlet's six times, and is dropped too
    bare = Evidence()
    for i, (_, text, mentions) in enumerate(rows):
        bare.add(f"a{i:04d}", _site_article(text, mentions))
    assert resolve(bare).lookup("Sophos", "org") is None


def test_a_template_opening_a_sites_paragraphs_is_boilerplate():
    # "HollywoodLifers, do you ...": the same words lead to the name in every article of
    # the site, whatever the rest of the line says
    rows = [("gossip.example", f"Kim and Kanye met.\nHollywoodLifers, do you think {i} is "
             f"right?", [("PERSON", "Kim"), ("PERSON", "Kanye"), ("ORG", "HollywoodLifers")])
            for i in range(6)]
    # a name opening a line the same way in news ("Reuters, the agency, ...") in two
    # articles of one outlet is not
    rows += [("wire.example", f"Reuters, the news agency, said {i}.", [("ORG", "Reuters")])
             for i in range(2)]
    rows += [("wire.example", f"A report by Reuters on day {i}.", [("ORG", "Reuters")])
             for i in range(4)]
    r = resolve(_archive(rows))
    assert r.lookup("HollywoodLifers", "org") is None
    assert r.lookup("Reuters", "org") == ("Reuters", "org")


def test_a_short_form_of_a_given_name_joins_the_one_person_named_with_it():
    def rows_of(n: int, text: str, names: list[str]) -> list:
        # n articles, each its own text (the same line in five is boilerplate)
        return [("", f"Day {i}: {text}", [("PERSON", name) for name in names])
                for i in range(n)]

    rows = rows_of(4, "Angelina Jolie and Brad Pitt split. Angie said no.",
                   ["Angelina Jolie", "Brad Pitt", "Angie"])
    rows += rows_of(2, "Angelina Jolie filmed.", ["Angelina Jolie"])
    # must not apply: a short form named as often with two people whose given names
    # begin so ("Ange": Angela Merkel and Angelina Jolie)
    rows += rows_of(3, "Angela Merkel spoke. Ange smiled.", ["Angela Merkel", "Ange"])
    rows += rows_of(3, "Angelina Jolie spoke. Ange smiled.", ["Angelina Jolie", "Ange"])
    # ... nor a given name of its own ("Jen" is Jennifer Aniston; "Jenna", named with
    # Jenna Dewan as often as with Jennifer Aniston, is not)
    rows += rows_of(3, "Jennifer Aniston smiled. Jen left.", ["Jennifer Aniston", "Jen"])
    rows += rows_of(3, "Jenna Dewan danced. Jenna left.", ["Jenna Dewan", "Jenna"])
    rows += rows_of(3, "Jennifer Aniston smiled. Jenna left.", ["Jennifer Aniston", "Jenna"])
    r = resolve(_archive(rows))
    assert r.lookup("Angie", "person") == ("Angelina Jolie", "person")
    assert r.lookup("Ange", "person") == ("Ange", "person")
    assert r.lookup("Jen", "person") == ("Jennifer Aniston", "person")
    assert r.lookup("Jenna", "person") != ("Jennifer Aniston", "person")


def test_a_title_joins_the_person_named_beside_it():
    evidence = Evidence()
    duchess = "Kate Middleton, the Duchess of Cambridge, met Prince William."
    pairs = [("PERSON", "Kate Middleton"), ("ORG", "Duchess of Cambridge"),
             ("PERSON", "Prince William")]
    for i in range(3):
        evidence.add(f"d{i}", _site_article(duchess, pairs, ["", "Kate Middleton", ""]))
    for i in range(2):
        evidence.add(f"e{i}", _site_article("The Duchess of Cambridge and Prince William.",
                                            [pairs[1], pairs[2]]))
    # must not apply: a title the archive gives two people beside it as often
    for i, who in enumerate(["Prince Charles", "Prince William"] * 2):
        text = f"{who}, the Prince of Wales, spoke."
        evidence.add(f"w{i}", _site_article(text, [("PERSON", who), ("ORG", "Prince of Wales")],
                                            ["", who]))
    r = resolve(evidence)
    assert r.lookup("Duchess of Cambridge", "org") == ("Kate Middleton", "person")
    assert r.lookup("Prince of Wales", "org") == ("Prince of Wales", "org")


def test_a_surname_the_model_also_reads_as_an_organisation_stays_one_there():
    rows = []
    # "Fox": Liam Fox's surname where the model says person (articles naming him), the
    # network where it says organisation (articles that never name him)
    rows += [("Liam Fox spoke. Fox said no.", [("PERSON", "Liam Fox", "", "spoke"),
                                               ("PERSON", "Fox", "", "said")])] * 4
    rows += [("Dr Fox said.", [("PERSON", "Dr Fox", "", "said")])] * 2
    rows += [("Fox aired the show.", [("ORG", "Fox")])] * 5
    # must not apply: the model's slip in articles naming the person ("Clarke" as an
    # organisation beside Charles Clarke) is the person everywhere
    rows += [("Charles Clarke spoke. Clarke said no.", [("PERSON", "Charles Clarke"),
                                                        ("ORG", "Clarke", "", "said")])] * 3
    rows += [("Charles Clarke spoke. Clarke said yes.", [("PERSON", "Charles Clarke"),
                                                         ("PERSON", "Clarke", "", "said")])] * 4
    r = _resolve(rows)
    assert r.lookup("Fox", "person") == ("Liam Fox", "person")
    assert r.lookup("Fox", "org") == ("Fox", "org")
    assert r.lookup("Clarke", "org") == ("Charles Clarke", "person")
    assert r.lookup("Clarke", "person") == ("Charles Clarke", "person")


def test_a_company_the_model_sometimes_calls_a_product_stays_when_it_speaks():
    rows = []
    # "Sophos": an organisation to the model in most mentions, a product in a third; it
    # speaks ("Sophos said") as products do not
    rows += [("Sophos said the virus spread.", [("ORG", "Sophos", "", "said")])] * 4
    rows += [("Sophos warned.", [("ORG", "Sophos", "", "warned")])] * 2
    rows += [("Run Sophos now.", [("PRODUCT", "Sophos", "run", "now")])] * 3
    # must not apply: a film the model calls an organisation as often, which never acts
    rows += [("Aviator won.", [("ORG", "Aviator", "", "won")])] * 6
    rows += [("The Aviator film.", [("WORK_OF_ART", "Aviator", "the", "film")])] * 3
    r = _resolve(rows)
    assert r.lookup("Sophos", "org") == ("Sophos", "org")
    assert r.lookup("Aviator", "org") is None


def test_a_department_named_by_its_field_is_that_department():
    rows = []
    rows += [("The Department of Homeland Security said.",
              [("ORG", "Department of Homeland Security", "the", "said")])] * 4
    rows += [("Homeland Security agents.", [("ORG", "Homeland Security")])] * 3
    rows += [("The Ministry of Defence said.", [("ORG", "Ministry of Defence", "the", "said")])] * 3
    rows += [("Defence chiefs.", [("ORG", "Defence")])] * 2
    # must not apply: a department named once beside the field's far more used name
    rows += [("The Department of the Navy.", [("ORG", "Department of the Navy", "the")])]
    rows += [("The Navy said.", [("ORG", "Navy", "the", "said")])] * 6
    r = _resolve(rows)
    assert r.lookup("Homeland Security", "org") == ("Department of Homeland Security", "org")
    assert r.lookup("Defence", "org") == ("Ministry of Defence", "org")
    assert r.lookup("Navy", "org") == ("Navy", "org")
