"""Story clustering: the rules (guard, merge, undated bar), and a function of the set."""

from __future__ import annotations

import random
from datetime import datetime
from datetime import timedelta
from datetime import timezone

import pytest

from search.stories.cluster import StoryArticle
from search.stories.cluster import StoryClusterer
from search.stories.cluster import Thresholds
from search.stories.cluster import cluster


def at(d: float, h: int = 12) -> datetime:
    return datetime(2024, 5, 1, h, tzinfo=timezone.utc) + timedelta(days=d)


def filler(n: int = 30, seed: int = 3) -> list[StoryArticle]:
    """Unrelated undated articles, so that document frequencies mean something."""
    rng = random.Random(seed)
    voc = [f"filler{i}" for i in range(400)]
    return [StoryArticle(f"f{i:03d}", None, "F", "en", " ".join(rng.sample(voc, 3)),
                         " ".join(rng.sample(voc, 60))) for i in range(n)]


def words(k: int, n: int = 12) -> list[str]:
    """A block of ``n`` words only this ``k`` uses."""
    return [f"w{k}x{i}" for i in range(n)]


HARWICK_A = ("Storm floods coastal town",
             "Heavy storm flooded the coastal town of Harwick overnight; rescuers evacuated "
             "two hundred residents and the river burst its banks near the harbour.")
HARWICK_B = ("Harwick residents evacuated after storm",
             "Rescuers moved residents from Harwick after the storm; the mayor said damage to "
             "the harbour and shops was severe and schools will stay closed.")
# The same account with one word fewer in common with HARWICK_A.
HARWICK_C = (HARWICK_B[0], HARWICK_B[1].replace("harbour", "port"))


def test_one_event_two_outlets_is_one_story():
    a = StoryArticle("u1", at(0), "X", "en", *HARWICK_A, place=("Harwick",))
    b = StoryArticle("u2", at(0, 15), "Y", "en", *HARWICK_B, place=("Harwick",))
    other = StoryArticle("u3", at(0, 16), "Z", "en", "Budget vote delayed",
                         "Parliament delayed the budget vote after a row over pensions.")
    st = cluster(filler() + [a, b, other])
    assert st.members["u1"] == ["u1", "u2"]
    assert st.story_of["u3"] == "u3"
    # Every article in exactly one story; a story's id is its first member.
    assert sorted(st.story_of) == sorted(m for ms in st.members.values() for m in ms)
    assert all(ms[0] == sid for sid, ms in st.members.items())


def test_undated_articles_need_a_stricter_bar():
    # The same two texts: close enough on the same day, not without dates.
    dated = [StoryArticle("u1", at(0), "X", "en", *HARWICK_A),
             StoryArticle("u2", at(0, 15), "Y", "en", *HARWICK_C)]
    undated = [StoryArticle("u1", None, "X", "en", *HARWICK_A),
               StoryArticle("u2", None, "Y", "en", *HARWICK_C)]
    assert cluster(filler() + dated).story_of["u2"] == "u1"
    assert cluster(filler() + undated).story_of["u2"] == "u2"
    assert cluster(filler() + undated, Thresholds(join_undated=0.3)).story_of["u2"] == "u1"


def test_entities_of_different_places_keep_stories_apart():
    a = StoryArticle("u1", at(0), "X", "en", *HARWICK_A, place=("Harwick",))
    b = StoryArticle("u2", at(0, 15), "Y", "en", *HARWICK_B, place=("Dunmore",))
    assert cluster(filler() + [a, b]).story_of["u2"] == "u2"


def test_chaining_guard():
    # a0 starts a story, five b's (close to a0) join it, then c0 is close to the b's and
    # to the centroid, but shares nothing with a0: the guard keeps it out.
    a0 = StoryArticle("a0", at(0, 8), "X", "en", "w1x0 w0x0", " ".join(words(0) + words(1)))
    bs = [StoryArticle(f"b{k}", at(0, 9 + k), "X", "en", "w1x0 w2x0",
                       " ".join(words(1) + words(2)[:12 - k])) for k in range(5)]
    c0 = StoryArticle("c0", at(0, 20), "X", "en", "w2x0 w3x0",
                      " ".join(words(2) + words(3)[:4]))
    arts = filler() + [a0, c0] + bs
    assert cluster(arts).members["a0"] == ["a0", "b0", "b1", "b2", "b3", "b4"]
    assert cluster(arts, Thresholds(guard=0.0)).story_of["c0"] == "a0"


def test_templated_daily_reports_do_not_chain_across_weeks():
    # Reuters' "U.K. MONEY MARKET" failure: one template, every day; near-identical texts.
    rng = random.Random(5)
    tpl = ("The Bank of England provided the money market with {} million stg assistance "
           "in the morning session after forecasting a shortage of {} million stg, dealers "
           "said. Rates were steady at {} pct.")
    reports = [StoryArticle(f"r{d:02d}", at(d, 11), "Reuters", "en",
                            "U.K. MONEY MARKET GIVEN ASSISTANCE",
                            tpl.format(rng.randint(50, 900), rng.randint(100, 1500),
                                       rng.choice(["9-7/8", "10", "10-1/8"])),
                            org=("Bank of England",)) for d in range(30)]
    st = cluster(filler() + reports)
    days = {r.id: r.published for r in reports}
    for ms in st.members.values():
        dated = [days[m] for m in ms if m in days]
        if dated:
            assert max(dated) - min(dated) <= timedelta(days=7)
    assert len({st.story_of[r.id] for r in reports}) >= 4


def test_merge_pass_joins_two_halves_of_one_story():
    # b0 cannot join a0 (no title word in common), so it starts its own story; c0's title
    # shares words with both, it joins one, and the merge pass at the end of the day
    # sees the two stories are one.
    body = "Rescuers searched collapsed buildings after the {} earthquake struck Tokyo {}."
    a0 = StoryArticle("a0", at(0, 8), "X", "en", "Quake hits Tokyo",
                      body.format("strong", "at dawn") + " " + " ".join(words(5, 6)))
    b0 = StoryArticle("b0", at(0, 9), "Y", "en", "Buildings collapse in Japan capital",
                      body.format("powerful", "early") + " " + " ".join(words(5, 6)))
    c0 = StoryArticle("c0", at(0, 10), "Z", "en", "Tokyo quake: buildings collapse",
                      body.format("deadly", "today") + " " + " ".join(words(5, 6)))
    arts = filler() + [a0, b0, c0]
    no_merge = cluster(arts, Thresholds(merge=1.01))
    assert len({no_merge.story_of[i] for i in ("a0", "b0", "c0")}) == 2
    merged = cluster(arts)
    assert merged.members["a0"] == ["a0", "b0", "c0"]
    assert merged.redirects.get("b0") in (None, "a0")


def synthetic(n_events: int = 14, seed: int = 11) -> list[StoryArticle]:
    """Articles about ``n_events`` events, 1-5 each, from several outlets, some undated."""
    rng = random.Random(seed)
    out = []
    for e in range(n_events):
        start = rng.uniform(0, 40)
        core = words(100 + e, 10)
        for k in range(rng.randint(1, 5)):
            extra = rng.sample(words(500, 200), 15)
            text = core[: rng.randint(6, 10)] + extra
            rng.shuffle(text)
            pub = at(start + rng.uniform(0, 2)) if rng.random() < 0.75 else None
            out.append(StoryArticle(f"e{e:02d}k{k}", pub, f"outlet{rng.randint(1, 4)}", "en",
                                    f"{core[0]} {core[1]} {extra[0]}", " ".join(text),
                                    place=(f"Place{e}",)))
    return out


def test_two_input_orders_give_the_same_stories():
    arts = filler(20) + synthetic()
    one = cluster(arts)
    rev = cluster(list(reversed(arts)))
    assert one.members == rev.members and one.story_of == rev.story_of
    # Real stories form: most events are one story.
    events = {}
    for a in synthetic():
        events.setdefault(a.id[:3], set()).add(one.story_of[a.id])
    assert sum(len(s) == 1 for s in events.values()) >= 10


def test_add_and_remove_equal_clustering_from_scratch():
    arts = filler(20) + synthetic()
    rng = random.Random(2)
    rng.shuffle(arts)
    half = len(arts) // 2
    sc = StoryClusterer(arts[:half])
    got = sc.update(add=arts[half:])
    assert got.members == cluster(arts).members
    gone = [a.id for a in arts[::4]]
    got = sc.update(remove=gone + ["not-there"])
    rest = [a for a in arts if a.id not in gone]
    assert got.members == cluster(rest).members
    # Replace one article's text (same id): as if the new text had always been there.
    victim = next(a for a in rest if a.published is not None)
    changed = StoryArticle(victim.id, victim.published, victim.outlet, "en",
                           "Something else entirely", "Nothing in common with any event.")
    got = sc.update(add=[changed])
    assert got.members == cluster([a if a.id != victim.id else changed for a in rest]).members
    assert len(sc) == len(rest)


def test_earlier_article_joining_changes_the_id_and_redirects():
    a = StoryArticle("u1", at(1), "X", "en", *HARWICK_A, place=("Harwick",))
    b = StoryArticle("u2", at(1, 15), "Y", "en", *HARWICK_B, place=("Harwick",))
    early = StoryArticle("u0", at(1, 6), "Z", "en", "Storm warning for Harwick harbour",
                         "Forecasters warned Harwick that the storm would flood the harbour "
                         "and the coastal town overnight; residents were told to prepare.",
                         place=("Harwick",))
    sc = StoryClusterer(filler() + [a, b])
    assert sc.stories().members["u1"] == ["u1", "u2"]
    st = sc.update(add=[early])
    assert st.members["u0"] == ["u0", "u1", "u2"]
    assert st.redirects == {"u1": "u0"}
    assert st.resolve("u1") == "u0" and st.resolve("u0") == "u0"
    assert st.resolve("nope") is None
    # The first article goes: the id moves back, and both old ids still answer.
    st = sc.update(remove=["u0"])
    assert st.members["u1"] == ["u1", "u2"]
    assert st.resolve("u0") == "u1" and st.resolve("u1") == "u1"
    assert "u1" not in st.redirects


def test_bad_input_never_crashes():
    odd = [StoryArticle("x1", None, None, None, "", ""),
           StoryArticle("x2", datetime(2024, 1, 1), None, "und", "Title only", ""),
           StoryArticle("x3", None, None, "de", "", "!!! ... ???"),
           StoryArticle("x4", at(0), None, "en", "Title only", ""),
           StoryArticle("x5", None, None, None, None, None, None, None, None)]
    st = cluster(odd)
    assert sorted(st.story_of) == ["x1", "x2", "x3", "x4", "x5"]


# -- real files ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def seeds_and_bbc(corpora):
    """The two seeds (real NER, two outlets) and bbc-news (text only), as the clusterer
    takes them; loading all 2,225 BBC articles takes a few seconds, NER of two articles
    a few more."""
    from bench.story_pairs import load
    from search.ingest.enrich.pipeline import Enricher
    from search.models import Article

    seeds = load(corpora, names=("seeds",))
    bbc = load(corpora, names=("bbc-news",))
    found = Enricher().enrich([Article(d.id, d.source, None, d.title, d.body) for d in seeds])
    arts = [StoryArticle(d.id, d.published, f"outlet-{n}", lang, d.title, d.body,
                         ents.person, ents.org, ents.place)
            for n, (d, (lang, ents)) in enumerate(zip(seeds, found))]
    arts += [StoryArticle(d.id, d.published, "BBC", "en", d.title, d.body) for d in bbc]
    return [d.id for d in seeds], arts


@pytest.mark.corpus
def test_seeds_are_one_story_and_nothing_from_bbc_joins(seeds_and_bbc):
    seed_ids, arts = seeds_and_bbc
    assert len(seed_ids) == 2
    st = cluster(arts)
    story = st.story_of[seed_ids[0]]
    assert st.story_of[seed_ids[1]] == story
    assert sorted(st.members[story]) == sorted(seed_ids)


@pytest.mark.corpus
def test_bbc_update_equals_from_scratch(seeds_and_bbc):
    _, arts = seeds_and_bbc
    part = arts[:900]
    sc = StoryClusterer(part[:600])
    assert sc.update(add=part[600:], remove=[a.id for a in part[:50]]).members == \
        cluster(part[50:]).members


def test_state_rows_replay_without_deciding_again():
    arts = filler(20) + synthetic()
    sc = StoryClusterer(arts[:-6])
    joins, merges, redirects = sc.state()
    assert all(isinstance(a, str) and isinstance(b, str) for a, b in joins)
    back = StoryClusterer.from_state(arts[:-6], joins, merges, redirects)
    assert back.stories().members == sc.stories().members
    assert back.version == sc.version != StoryClusterer(thresholds=Thresholds(join=0.5)).version
    # The replayed clusterer updates like the original.
    assert back.update(add=arts[-6:]).members == cluster(arts).members
    # A state that does not fit (an article missing from it, a made-up founder, a bad
    # period) is not trusted: the articles are clustered from scratch.
    for bad in ((joins[1:], merges), ([(joins[0][0], "nobody")] + joins[1:], merges),
                (joins, [("x:1", "a", "b", None)])):
        again = StoryClusterer.from_state(arts[:-6], *bad)
        assert again.stories().members == sc.stories().members
