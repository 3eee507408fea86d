"""Copies and stories on the query side: hits carry them, pages collapse on them, a
story filters the results, and a live server picks up stage 4's results.

Every index is real (Whoosh on disk, ``derived.sqlite`` beside it); stories arrive
through the real :class:`~search.sidestore.SideStore`, as stage 4 writes them.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from search import storage
from search.models import SearchRequest
from search.query import generation
from search.query import service
from search.sidestore import PENDING
from search.sidestore import SideStore
from search.sidestore import StoryRow
from tests.conftest import HANDMADE
from tests.conftest import write_articles_index
from web import create_app

A1, A2, A3, A6 = "a000000000000001", "a000000000000002", "a000000000000003", "a000000000000006"
COPY = "a000000000000007"  # a re-post of A1 by another outlet
COPY2 = "a000000000000008"  # and another, abridged
ARTICLES = HANDMADE + [
    HANDMADE[0].replace(id=COPY, source="handmade/7.txt", outlet="Times of Israel",
                        url="https://www.timesofisrael.com/a/7"),
    HANDMADE[0].replace(id=COPY2, source="handmade/8.txt", outlet="Haaretz", url=None,
                        body=HANDMADE[0].body.split(". ")[0] + "."),
]
ALL = [a.id for a in ARTICLES]


@pytest.fixture
def at_once(monkeypatch):
    monkeypatch.setattr(generation, "RECHECK_SECONDS", 0)
    monkeypatch.setattr(generation, "ENTITY_REBUILD_SECONDS", 0)


def write_stories(index_dir, rows, redirects=()) -> None:
    store = SideStore(storage.require_current(index_dir))
    try:
        store.set_stories(rows, redirects)
        store.commit()
    finally:
        store.close()


def standard_rows() -> list[StoryRow]:
    """A1, its two copies and A2 are one story (A1 earliest); the rest stories of one."""
    rows = [StoryRow(A1, A1), StoryRow(COPY, A1, A1), StoryRow(COPY2, A1, A1),
            StoryRow(A2, A1)]
    rows += [StoryRow(a, a) for a in ALL if a not in {A1, A2, COPY, COPY2}]
    return rows


@pytest.fixture
def story_index(tmp_path):
    index_dir = write_articles_index(ARTICLES, tmp_path / "ix")
    write_stories(index_dir, standard_rows())
    return index_dir


def run(index_dir, **kw):
    return service.search(index_dir, SearchRequest(**kw))


def test_hits_carry_their_story_and_copies(story_index):
    res = run(story_index, q="Damascus airport", page_size=10)
    by_id = {h.id: h for h in res.hits}
    assert by_id[A1].story == {"id": A1, "articles": 4, "outlets": 3}
    assert by_id[A1].copies == 2 and by_id[A1].copy_of is None
    assert by_id[COPY].copy_of == A1 and by_id[COPY].copies == 2
    assert by_id[A2].copies == 0 and by_id[A2].copy_of is None
    assert res.stories == 1  # A6 does not name the airport
    out = res.to_json()
    hit = next(h for h in out["hits"] if h["id"] == COPY)
    assert (hit["story"], hit["copies"], hit["copy_of"]) == (
        {"id": A1, "articles": 4, "outlets": 3}, 2, A1)
    assert out["collapse"] == "none" and out["groups"] is None and out["stories"] == 1


def test_collapse_copies_shows_one_article_per_copy_group(story_index):
    plain = run(story_index, q="Damascus", page_size=10)
    res = run(story_index, q="Damascus", page_size=10, collapse="copies")
    assert res.total == plain.total == 5  # total counts articles
    shown = [h.id for h in res.hits]
    assert len(shown) == 3 and A2 in shown and A6 in shown
    assert len({A1, COPY, COPY2} & set(shown)) == 1
    # the group is shown by its best-ranked article, in the plain order
    plain_order = [h.id for h in plain.hits]
    assert shown == [i for i in plain_order if i in shown]
    assert res.groups == 3
    assert res.facets["outlet"] == plain.facets["outlet"]  # facets count articles


def test_collapse_story_and_pages_count_groups(story_index):
    res = run(story_index, q="Damascus", page_size=10, collapse="story")
    assert res.groups == 2 and {h.id for h in res.hits} & {A6} and len(res.hits) == 2
    first = run(story_index, q="Damascus", page_size=1, collapse="story")
    second = run(story_index, q="Damascus", page_size=1, page=2, collapse="story")
    third = run(story_index, q="Damascus", page_size=1, page=3, collapse="story")
    assert first.pages == 2 and len(second.hits) == 1 and third.hits == ()
    assert {first.hits[0].id, second.hits[0].id} == {res.hits[0].id, res.hits[1].id}
    # date sorts collapse too: the newest article of each group stands for it
    newest = run(story_index, q="", sort="newest", page_size=20, collapse="story")
    assert newest.total == len(ARTICLES) and newest.groups == len(ARTICLES) - 3
    assert [h.id for h in newest.hits].count(A1) + [h.id for h in newest.hits].count(A2) == 1


def test_story_filter_and_an_old_story_id_answers(story_index, at_once):
    res = run(story_index, q="", story=A1, page_size=10)
    assert sorted(h.id for h in res.hits) == sorted([A1, A2, COPY, COPY2])
    assert {v.value: v.count for v in res.facets["outlet"]} == {
        "Haaretz": 2, "Reuters": 1, "Times of Israel": 1}
    assert run(story_index, q="runway", story=A1).total == 1
    assert run(story_index, q="", story="ffffffffffffffff").total == 0
    # A2 turns out to be the earliest: the story's id becomes A2, and A1 still answers
    rows = [StoryRow(r.id, A2 if r.story == A1 else r.story, r.copy_of) for r in standard_rows()]
    write_stories(story_index, rows, [(A1, A2)])
    moved = run(story_index, q="", story=A1, page_size=10)
    assert moved.total == 4 and moved.hits[0].story["id"] == A2


def test_bad_collapse_or_story_is_a_clear_error(story_index):
    from search.errors import QueryError

    with pytest.raises(QueryError, match="collapse must be one of"):
        run(story_index, q="x", collapse="outlet")
    with pytest.raises(QueryError, match="story must be an article id"):
        run(story_index, q="x", story="../etc")


def test_an_index_before_stage_4_has_no_stories(tmp_path):
    index_dir = write_articles_index(ARTICLES, tmp_path / "ix")
    res = run(index_dir, q="Damascus", collapse="copies", page_size=10)
    assert res.total == res.groups == 5 and res.stories is None
    assert all(h.story is None and h.copies == 0 and h.copy_of is None for h in res.hits)


def test_a_live_server_picks_up_stories_and_a_rewritten_article_leaves_its_story(
        tmp_path, at_once):
    index_dir = write_articles_index(ARTICLES, tmp_path / "ix")
    assert run(index_dir, q="Damascus").stories is None
    write_stories(index_dir, standard_rows())
    res = run(index_dir, q="Damascus", collapse="story")
    assert res.groups == 2 and res.stories == 2
    assert service.info(index_dir)["enrichment"] == {
        "done": len(ALL), "pending": 0, "entities": {"done": len(ALL), "pending": 0},
        "stories": {"done": len(ALL), "pending": 0}, "resolution": "stale"}
    # the indexer writes A2's text again: its story is to be worked out again
    store = SideStore(storage.require_current(index_dir))
    store.add_texts([(A2, "key", PENDING, None)])
    store.commit()
    assert store.story_counts().pending == 1 and not store.stories_stale()
    store.remove([A6])  # an article that had a story leaves: stage 4 must run again
    assert store.stories_stale()
    store.commit()
    store.close()
    assert service.info(index_dir)["enrichment"]["pending"] == 1  # A2: entities and story
    res = run(index_dir, q="Damascus", collapse="story", page_size=10)
    assert res.groups == 3
    assert next(h for h in res.hits if h.id == A2).story is None


def test_web_defaults_to_copies_and_the_cli_to_none(story_index):
    app = create_app({"INDEX": str(story_index), "TESTING": True})
    client = app.test_client()
    out = client.get("/api/search?q=Damascus").get_json()
    assert out["collapse"] == "copies" and out["groups"] == 3 and out["total"] == 5
    out = client.get(f"/api/search?q=Damascus&collapse=story&story={A1}").get_json()
    assert out["groups"] == 1 and out["total"] == 4
    bad = client.get("/api/search?q=Damascus&collapse=everything")
    assert bad.status_code == 400 and "collapse must be one of" in bad.get_json()["error"]
    from search.cli import main

    runner = CliRunner()
    cli = runner.invoke(main, ["search", "Damascus", "--index", str(story_index), "--json"])
    assert cli.exit_code == 0, cli.output
    assert json.loads(cli.output)["collapse"] == "none"
    cli = runner.invoke(main, ["search", "Damascus", "--index", str(story_index),
                               "--collapse", "copies"])
    assert cli.exit_code == 0, cli.output
    assert "+2 copies" in cli.output and f"story {A1}: 4 articles from 3 outlets" in cli.output


def test_a_story_view_lists_its_articles_oldest_first_with_outlets_and_entities(story_index):
    view = service.story(story_index, A1)
    ids = [h.id for h in view.articles]
    assert sorted(ids) == sorted([A1, A2, COPY, COPY2])
    # oldest first: A1 and its copies share a date, then by id; A2 a minute later
    assert ids == [A1, COPY, COPY2, A2]
    assert view.title == HANDMADE[0].title and view.id == A1 and view.asked is None
    assert view.first_published == HANDMADE[0].published
    assert view.last_published == HANDMADE[1].published
    assert [(o.value, o.count) for o in view.outlets] == [
        ("Haaretz", 2), ("Times of Israel", 1), ("Reuters", 1)]
    named = {v.value: v.count for v in view.entities["person"]}
    assert named == {"Dennis Ross": 3, "Mikhail Bogdanov": 1}
    out = view.to_json()
    assert out["ok"] is True and set(out["story"]) == {
        "id", "title", "first_published", "last_published", "outlets", "articles", "entities"}
    assert out["story"]["outlets"][0] == {"value": "Haaretz", "count": 2,
                                          "first_published": HANDMADE[0].published.isoformat()}


def test_a_story_answers_to_an_old_id_and_an_unknown_one_is_not_found(story_index, at_once):
    from search.errors import NotFoundError

    rows = [StoryRow(r.id, A2 if r.story == A1 else r.story, r.copy_of) for r in standard_rows()]
    write_stories(story_index, rows, [(A1, A2)])
    view = service.story(story_index, A1)
    assert view.id == A2 and view.asked == A1
    assert view.to_json()["story"]["redirected_from"] == A1
    client = create_app({"INDEX": str(story_index), "TESTING": True}).test_client()
    moved = client.get(f"/story/{A1}")
    assert moved.status_code == 301 and moved.headers["Location"].endswith(f"/story/{A2}")
    for bad in ("ffffffffffffffff", "nope"):
        with pytest.raises(NotFoundError):
            service.story(story_index, bad)


def test_story_page_and_api(story_index):
    app = create_app({"INDEX": str(story_index), "TESTING": True})
    client = app.test_client()
    out = client.get(f"/api/story/{A1}").get_json()
    assert out["ok"] is True and len(out["story"]["articles"]) == 4
    page = client.get(f"/story/{A1}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "4 articles from 3 outlets" in text and "<svg" in text
    assert text.count('class="dot"') == 4
    assert client.get("/story/ffffffffffffffff").status_code == 404
    assert client.get("/api/story/ffffffffffffffff").get_json()["ok"] is False
    assert client.get("/story/..%2Fetc").status_code == 404


def test_two_accounts_of_a_story_compared(story_index):
    client = create_app({"INDEX": str(story_index), "TESTING": True}).test_client()
    out = client.get(f"/api/story/{A1}/compare?a={A1}&b={COPY2}").get_json()
    assert out["ok"] is True
    # the abridged copy keeps the first sentence: shared; the rest is A1's alone
    assert [pair[0] for pair in out["shared"]][:2] == [HANDMADE[0].title, HANDMADE[0].body.split(". ")[0] + "."]
    assert any("Dennis Ross" in s for s in out["only_a"]) and out["only_b"] == []
    # B lists the same entities (a copy keeps them), so neither lacks one
    assert out["entities_only_a"] == {"person": [], "org": [], "place": []}
    r = client.get(f"/api/story/{A1}/compare?a={A1}&b={A3}")
    assert r.status_code == 404 and "not an article of story" in r.get_json()["error"]
    assert client.get(f"/api/story/{A1}/compare?a={A1}").status_code == 400
    page = client.get(f"/story/{A1}/compare?a={A1}&b={A2}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "How two accounts differ" in text and "Only in account A" in text
    assert f'action="/story/{A1}/compare"' in client.get(f"/story/{A1}").get_data(as_text=True)


def test_top_words_read_one_article_per_copy_group(story_index):
    from search.query import terms

    # A1 and its two copies match "jets": three articles, one text -> one sample article
    tw = terms.top_words(story_index, SearchRequest(q="jets"))
    assert tw.total == 3 and tw.sample == 1
