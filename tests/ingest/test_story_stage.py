"""Stage 4 in real indexing runs: copies and stories of real files, kept right as files
come and go, the same whatever order the files were indexed in.

Real files (the two seeds, a bbc-news slice), the real indexer with real NER, a real
Whoosh index and side store; the stories are read back through the query side.
"""

from __future__ import annotations

import shutil

import pytest

from search import storage
from search.ingest.indexer import index_paths
from search.models import SearchRequest
from search.query import service
from search.sidestore import SideStore
from tests.conftest import SEEDS
from tests.conftest import bbc_slice

pytestmark = pytest.mark.corpus


@pytest.fixture(autouse=True)
def at_once(monkeypatch):
    """The query side looks for new commits and side-store changes on every request."""
    from search.query import generation

    monkeypatch.setattr(generation, "RECHECK_SECONDS", 0)
    monkeypatch.setattr(generation, "ENTITY_REBUILD_SECONDS", 0)


def story_rows(index_dir) -> dict[str, tuple[str, str | None]]:
    """article id -> (story id, copy_of), as the side store holds them."""
    side = SideStore(storage.require_current(index_dir), readonly=True)
    try:
        return {r.id: (r.story, r.copy_of) for r in side.stories()[1]}
    finally:
        side.close()


def seed_ids(index_dir) -> list[str]:
    res = service.search(index_dir, SearchRequest(q="", filters={"outlet": (
        "Outlet One", "Outlet Two")}, page_size=10))
    return sorted(h.id for h in res.hits)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """The seeds in two folders (one each), a BBC slice, and one BBC article copied under
    another name (a re-post: the same text)."""
    base = tmp_path_factory.mktemp("story_inputs")
    one, two = base / "one", base / "two"
    one.mkdir()
    two.mkdir()
    seeds = sorted(p for p in SEEDS.glob("*.txt"))
    shutil.copy(seeds[0], one / seeds[0].name)
    shutil.copy(seeds[1], two / seeds[1].name)
    bbc = bbc_slice(base / "bbc-news", 4)
    original = sorted((bbc / "politics").glob("*.txt"))[0]
    repost = base / "repost"
    repost.mkdir()
    shutil.copy(original, repost / "again.txt")
    return {"one": one, "two": two, "bbc": bbc, "repost": repost, "original": original}


def build(index_dir, inputs, order):
    outlets = {"one": "Outlet One", "two": "Outlet Two", "bbc": "BBC", "repost": "Reposter"}
    for name in order:
        index_paths([inputs[name]], index_dir, outlet=outlets[name], processes=1)


@pytest.fixture(scope="module")
def built(inputs, tmp_path_factory):
    index_dir = tmp_path_factory.mktemp("stories_ix")
    build(index_dir, inputs, ["bbc", "one", "two", "repost"])
    return index_dir


def test_the_seeds_are_one_story_of_two_outlets_and_nothing_else_joins(built):
    rows = story_rows(built)
    a, b = seed_ids(built)
    assert rows[a][0] == rows[b][0]
    members = [i for i, (story, _) in rows.items() if story == rows[a][0]]
    assert sorted(members) == [a, b]  # no BBC article joined it
    view = service.story(built, rows[a][0])
    assert {o.value for o in view.outlets} == {"Outlet One", "Outlet Two"}
    assert service.info(built)["enrichment"]["stories"]["pending"] == 0


def test_a_repost_is_a_copy_and_collapses(built, inputs):
    res = service.search(built, SearchRequest(q="", filters={"outlet": ("Reposter",)}))
    [repost] = res.hits
    assert repost.copies == 1
    # both undated: the copy group's first is the one with the smaller id (DESIGN.md)
    rows = story_rows(built)
    group = [i for i, (_, of) in rows.items() if of == repost.id] or [repost.copy_of]
    [other] = group
    original = service.article(built, other).hit
    assert original.outlet == "BBC" and original.copies == 1
    assert (repost.copy_of, original.copy_of).count(None) == 1
    first = repost.id if repost.copy_of is None else other
    assert first == min(repost.id, other)
    words = " ".join(original.title.split()[:4])
    plain = service.search(built, SearchRequest(q=f'"{words}"', page_size=20))
    folded = service.search(built, SearchRequest(q=f'"{words}"', page_size=20,
                                                 collapse="copies"))
    assert folded.total == plain.total and folded.groups == plain.total - 1


def test_a_story_gains_an_article_on_update_and_loses_it_on_delete(inputs, tmp_path):
    index_dir = tmp_path / "ix"
    build(index_dir, inputs, ["bbc", "one"])
    [a] = seed_ids(index_dir)
    assert service.story(index_dir, story_rows(index_dir)[a][0]).articles[0].id == a
    build(index_dir, inputs, ["two"])
    rows = story_rows(index_dir)
    a, b = seed_ids(index_dir)
    assert rows[a][0] == rows[b][0]
    story = rows[a][0]
    assert len(service.story(index_dir, story).articles) == 2
    # the second account's file goes: the story is one article again
    gone = next(inputs["two"].glob("*.txt"))
    kept = gone.read_bytes()
    gone.unlink()
    try:
        index_paths([inputs["two"]], index_dir, outlet="Outlet Two", processes=1)
    finally:
        gone.write_bytes(kept)
    rows = story_rows(index_dir)
    remaining = seed_ids(index_dir)
    assert len(remaining) == 1 and len({a, b} & set(rows)) == 1
    # the story answers (by its old id too, if its first article was the one gone)
    assert [h.id for h in service.story(index_dir, story).articles] == remaining


def test_the_same_stories_whatever_the_order(inputs, built, tmp_path):
    other = tmp_path / "ix"
    build(other, inputs, ["repost", "two", "one", "bbc"])
    assert story_rows(other) == story_rows(built)
