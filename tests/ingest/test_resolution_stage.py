"""Stage 3 in a real indexing run: entities resolved across the archive after NER, kept
current as the archive changes, never touching text matches."""

from __future__ import annotations

import json
import shutil

from search import storage
from search.ingest.indexer import index_paths
from search.models import SearchRequest
from search.query import service
from search.sidestore import SideStore


def rows(index_dir) -> list[tuple[str, dict, dict | None]]:
    side = SideStore(storage.require_current(index_dir), readonly=True)
    try:
        return [(aid, json.loads(raw), json.loads(res) if res else None) for aid, raw, res in
                side.db.execute("SELECT id, entities, resolved FROM articles WHERE state = 'done'")]
    finally:
        side.close()


def test_a_run_resolves_entities_and_the_facets_show_them(news_index):
    assert service.info(news_index)["enrichment"]["resolution"] == "current"
    got = rows(news_index)
    assert got and all(res is not None for _, _, res in got)
    # resolution changed something real: some article shows other values than NER gave
    assert any(raw != res for _, raw, res in got)
    # what the facets count is the resolved entities
    resolved = {k: set() for k in ("person", "org", "place")}
    for _, _, res in got:
        for k in resolved:
            resolved[k].update(res.get(k, ()))
    facets = service.search(news_index, SearchRequest(q="", facet_size=1000, more=(
        "person", "org", "place"), facet_more_size=1000)).facets
    for k in resolved:
        assert {v.value for v in facets[k]} <= resolved[k]


def test_new_entities_make_resolution_run_again(news_index, tmp_path):
    index_dir = tmp_path / "ix"
    shutil.copytree(news_index, index_dir, symlinks=True)
    before = service.search(index_dir, SearchRequest(q="minister")).total
    extra = tmp_path / "more"
    extra.mkdir()
    (extra / "a.txt").write_text(
        "Minister meets Tony Blair in London\n\nThe minister met Tony Blair and officials "
        "of the Labour Party in London on Monday. Blair said talks would go on.\n",
        encoding="utf-8")
    report = index_paths([extra], index_dir, outlet="Test", processes=1)
    assert report.resolution is not None and report.resolution.articles == len(rows(index_dir))
    assert service.info(index_dir)["enrichment"]["resolution"] == "current"
    # text matches are the text's: one more article says minister, nothing else moved
    assert service.search(index_dir, SearchRequest(q="minister")).total == before + 1
    # a run with nothing new does not resolve again
    again = index_paths([extra], index_dir, outlet="Test", processes=1)
    assert again.resolution is None
