"""Stage 3 in a real indexing run: entities resolved across the archive after NER, kept
current as the archive changes, never touching text matches."""

from __future__ import annotations

import json
import shutil

from search import storage
from search.ingest.indexer import index_paths
from search.models import SearchRequest
from search.query import generation
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


def _write(folder, name: str, title: str, body: str) -> None:
    (folder / name).write_text(f"{title}\n\n{body}\n", encoding="utf-8")


def hand_archive(folder):
    """Articles naming the IMF and George W. Bush in full and by their short forms."""
    folder.mkdir()
    for i in range(3):
        _write(folder, f"imf-full-{i}.txt", f"Fund warns on growth {i}",
               f"The International Monetary Fund (IMF) said on Monday that growth in "
               f"Europe would slow. The IMF also warned about debt in report number {i}.")
    for i in range(2):
        _write(folder, f"imf-short-{i}.txt", f"Lenders meet {i}",
               f"The IMF cut its forecast for Asia on Tuesday, officials in Tokyo said. "
               f"Talks went on for day {i}.")
    for i in range(3):
        _write(folder, f"bush-full-{i}.txt", f"President speaks {i}",
               f"President George W. Bush spoke in Texas on Friday. Bush said the economy "
               f"was strong, in speech number {i}.")
    for i in range(2):
        _write(folder, f"bush-short-{i}.txt", f"White House visit {i}",
               f"Bush met reporters in Washington on Thursday and said little, on visit {i}.")


def test_a_typed_alias_finds_the_articles_of_its_canonical_value(tmp_path, monkeypatch):
    # a server looks for a new commit at most every RECHECK_SECONDS; this one comes at once
    monkeypatch.setattr(generation, "RECHECK_SECONDS", 0)
    hand_archive(tmp_path / "in")
    index_dir = tmp_path / "ix"
    index_paths([tmp_path / "in"], index_dir, outlet="Hand", processes=1)
    side = SideStore(storage.require_current(index_dir), readonly=True)
    try:
        aliases = {v: (c, k) for v, c, k in side.aliases()}
    finally:
        side.close()
    # resolution shows the short forms under the full names
    assert aliases["IMF"] == ("International Monetary Fund", "org")
    assert aliases["Bush"] == ("George W Bush", "person") or \
        aliases["Bush"] == ("George W. Bush", "person")
    bush = aliases["Bush"][0]
    facets = service.search(index_dir, SearchRequest(q="", more=("org", "person"))).facets
    orgs = {v.value: v.count for v in facets["org"]}
    people = {v.value: v.count for v in facets["person"]}
    assert "IMF" not in orgs and orgs["International Monetary Fund"] == 5
    assert "Bush" not in people and people[bush] == 5

    def total(**kw) -> int:
        return service.search(index_dir, SearchRequest(**kw)).total

    # a field query on the alias, any case, finds the canonical value's articles ...
    assert total(q="org:IMF") == total(q='org:"International Monetary Fund"') == 5
    assert total(q="org:imf") == 5
    assert total(q="person:Bush") == total(q=f'person:"{bush}"') == 5
    # ... and so does a facet filter on it, without a "no article has" notice
    found = service.search(index_dir, SearchRequest(q="", filters={"org": ("IMF",)}))
    assert found.total == 5 and found.notice is None
    assert total(q="", filters={"person": ("Bush",)}) == 5
    # an alias finds nothing in a facet its canonical value is not in
    assert total(q="place:IMF") == 0
    # the archive grows: a new alias is found by the same process (its generation caught
    # up with the side store's new aliases)
    more = tmp_path / "more"
    more.mkdir()
    for i in range(3):
        _write(more, f"ecb-full-{i}.txt", f"Rates rise {i}",
               f"The European Central Bank (ECB) raised rates on Thursday. The ECB said "
               f"prices rose in month number {i}.")
    for i in range(2):
        _write(more, f"ecb-short-{i}.txt", f"Rates held {i}",
               f"The ECB said on Friday that it held rates in Frankfurt, for week {i}.")
    index_paths([more], index_dir, outlet="Hand", processes=1)
    assert total(q="org:ECB") == total(q='org:"European Central Bank"') == 5
    assert total(q="org:IMF") == 5


def test_a_sites_boilerplate_leaves_the_facets_and_a_quote_of_several_outlets_stays(tmp_path):
    # one site's pages end with the same footer; six outlets quote the same sentence
    folder = tmp_path / "in"
    folder.mkdir()
    footer = "Please enable JavaScript to view the comments powered by Disqus."
    quote = "Sophos said the virus had infected thousands of computers in Europe."
    records = [{"url": f"https://site.example/vote-{i}", "title": f"Council vote {i}",
                "outlet": "Site", "text": f"On day {i} the council in Leeds voted on a plan, "
                                          f"officials said.\n\n{footer}"}
               for i in range(6)]
    records += [{"url": f"https://paper{i}.example/virus", "title": f"Virus spreads {i}",
                 "outlet": f"Paper {i}", "text": f"A new computer virus spread on day {i}, "
                                                 f"experts said.\n\n{quote}"}
                for i in range(6)]
    (folder / "pages.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records),
                                        encoding="utf-8")
    index_dir = tmp_path / "ix"
    index_paths([folder], index_dir, processes=1)
    raw = set()
    for _, entities, _ in rows(index_dir):
        raw.update(v for kind in ("person", "org", "place") for v in entities.get(kind, ()))
    # the model took both for names ...
    assert {"JavaScript", "Sophos"} <= raw
    facets = service.search(index_dir, SearchRequest(q="", facet_more_size=100, more=(
        "person", "org", "place"))).facets
    shown = {v.value for kind in ("person", "org", "place") for v in facets[kind]}
    # ... resolution leaves the footer's out and keeps the quoted one, and the site's news
    assert "JavaScript" not in shown and "Disqus" not in shown
    assert "Sophos" in shown and "Leeds" in shown
