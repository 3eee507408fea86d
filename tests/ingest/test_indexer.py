"""The indexer on real files, a real Whoosh index on disk and the real enrichment."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from whoosh import index as whoosh_index

from search import storage
from search.ingest.indexer import build_index
from search.ingest.indexer import index_paths
from search.models import source_key
from tests.conftest import SEED_000
from tests.conftest import SEED_004
from tests.stored import stored_docs


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def rec(n: int, url: str | None = None, text: str | None = None) -> dict:
    r = {"title": f"Story {n}", "text": text or f"Story number {n} reports that the council "
                                              f"in Leeds met on Tuesday to discuss budget {n}."}
    if url:
        r["url"] = url
    return r


def test_seeds_are_english_with_their_entities(tmp_path):
    report = index_paths([SEED_000, SEED_004], tmp_path / "ix", processes=1)
    assert (report.indexed, report.skipped, report.articles_total) == (2, [], 2)
    by_source = {d["sources"][0]: d for d in stored_docs(tmp_path / "ix").values()}
    seed0, seed4 = by_source[str(SEED_000)], by_source[str(SEED_004)]
    assert seed0["lang"] == seed4["lang"] == "en"
    assert "Pentagon" in seed0["org"].split(",")
    assert "Damascus International Airport" in seed0["place"].split(",")
    assert "Dennis Ross" in seed0["person"].split(",")
    assert "Mikhail Bogdanov" in seed4["person"].split(",")


def test_indexing_twice_gives_the_same_documents(tmp_path):
    data = write_jsonl(tmp_path / "a.jsonl", [rec(1, "https://example.com/1"), rec(2), rec(3)])
    first = index_paths([data], tmp_path / "ix", processes=1)
    docs1 = stored_docs(tmp_path / "ix")
    # A changed mtime forces a real second read of the same content.
    os.utime(data, ns=(data.stat().st_atime_ns, data.stat().st_mtime_ns + 10**9))
    second = index_paths([data], tmp_path / "ix", processes=1)
    rebuilt = build_index([data], tmp_path / "ix", processes=1)
    assert (first.indexed, second.indexed, rebuilt.indexed) == (3, 3, 3)
    assert second.articles_total == rebuilt.articles_total == 3
    assert stored_docs(tmp_path / "ix") == docs1
    # The second run and the rebuild found every text in the enrichment cache.
    assert (first.enriched, second.enriched, rebuilt.enriched) == (3, 0, 0)


def test_records_sharing_a_url_are_one_article_with_both_sources(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    a = write_jsonl(data / "a.jsonl", [rec(1, "https://example.com/shared"),
                                       rec(2, "https://Example.com/shared?utm_source=x")])
    b = write_jsonl(data / "b.jsonl", [rec(3, "example.com/shared#top"), rec(4)])
    report = index_paths([data], tmp_path / "ix", processes=1)
    docs = stored_docs(tmp_path / "ix")
    assert report.articles_total == len(docs) == 2
    shared = next(d for d in docs.values() if d.get("url"))
    assert shared["sources"] == [source_key(str(a), 1), source_key(str(a), 2),
                                 source_key(str(b), 1)]


def test_update_reflects_changed_deleted_and_added_files(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    a = write_jsonl(data / "a.jsonl", [rec(1, "https://example.com/only-a"),
                                       rec(2, "https://example.com/shared")])
    b = write_jsonl(data / "b.jsonl", [rec(3, "https://example.com/shared")])
    c = write_jsonl(data / "c.jsonl", [rec(4, "https://example.com/c")])
    index_paths([data], tmp_path / "ix", processes=1)
    before = stored_docs(tmp_path / "ix")
    assert len(before) == 3

    a.unlink()
    write_jsonl(c, [rec(4, "https://example.com/c", text="The council in Leeds changed its mind.")])
    d = write_jsonl(data / "d.jsonl", [rec(5, "https://example.com/d")])
    report = index_paths([data], tmp_path / "ix", processes=1)

    after = stored_docs(tmp_path / "ix")
    by_url = {doc["url"]: doc for doc in after.values()}
    assert sorted(by_url) == ["https://example.com/c", "https://example.com/d",
                              "https://example.com/shared"]
    # The shared article stays, held by b alone; its content is still there.
    assert by_url["https://example.com/shared"]["sources"] == [source_key(str(b), 1)]
    assert by_url["https://example.com/shared"]["body"]
    assert by_url["https://example.com/c"]["body"] == "The council in Leeds changed its mind."
    assert by_url["https://example.com/d"]["sources"] == [source_key(str(d), 1)]
    assert (report.removed, report.files_removed, report.files_read, report.files_unchanged) \
        == (1, 1, 2, 1)
    assert report.articles_total == 3


def test_unchanged_files_are_not_read_again(tmp_path):
    data = write_jsonl(tmp_path / "a.jsonl", [rec(1), rec(2)])
    index_paths([data], tmp_path / "ix", processes=1)
    before = stored_docs(tmp_path / "ix")
    st = data.stat()
    # Same size, same mtime, different bytes: only a run that reads the file can tell.
    data.write_bytes(b"\x00" * st.st_size)
    os.utime(data, ns=(st.st_atime_ns, st.st_mtime_ns))
    report = index_paths([data], tmp_path / "ix", processes=1)
    assert (report.unchanged, report.indexed, report.files_unchanged, report.skipped) \
        == (2, 0, 1, [])
    assert stored_docs(tmp_path / "ix") == before


def test_an_exception_mid_rebuild_leaves_the_live_index(tmp_path):
    data = write_jsonl(tmp_path / "a.jsonl", [rec(n) for n in range(1, 6)])
    build_index([data], tmp_path / "ix", processes=1)
    live, before = storage.current(tmp_path / "ix"), stored_docs(tmp_path / "ix")

    def stop(progress):
        if progress.files_done:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_index([data, SEED_000], tmp_path / "ix", processes=1, progress=stop)
    assert storage.current(tmp_path / "ix") == live
    assert stored_docs(tmp_path / "ix") == before
    # The lock was released: the next run works.
    assert index_paths([data], tmp_path / "ix", processes=1).unchanged == 5


def test_bad_input_is_reported_and_the_rest_indexed(tmp_path):
    import gzip

    data = tmp_path / "data"
    data.mkdir()
    (data / "good.txt").write_text("Talks resume\n\nThe minister said talks in Brussels "
                                   "would resume on Monday.\n", encoding="utf-8")
    (data / "junk.txt").write_bytes(bytes(range(256)) * 8)
    (data / "recs.jsonl").write_text(json.dumps(rec(1)) + "\n{not json\n" + json.dumps(rec(2))
                                     + "\n", encoding="utf-8")
    whole = gzip.compress("".join(json.dumps(rec(n, text=f"Record {n} {os.urandom(40).hex()}"))
                                  + "\n" for n in range(100)).encode())
    (data / "cut.jsonl.gz").write_bytes(whole[: len(whole) // 2])
    report = index_paths([data], tmp_path / "ix", processes=1)
    named = {(Path(e.path).name, e.line) for e in report.skipped}
    assert {("junk.txt", None), ("recs.jsonl", 2), ("cut.jsonl.gz", None)} <= named
    cut = sum(1 for d in stored_docs(tmp_path / "ix").values()
              if d["sources"][0].startswith(str(data / "cut.jsonl.gz")))
    assert 0 < cut < 100
    assert report.articles_total == 1 + 2 + cut


def test_a_truncated_file_keeps_what_it_gave_before(tmp_path):
    import gzip

    whole = gzip.compress("".join(json.dumps(rec(n, text=f"Record {n} {os.urandom(40).hex()}"))
                                  + "\n" for n in range(60)).encode())
    path = tmp_path / "recs.jsonl.gz"
    path.write_bytes(whole)
    first = index_paths([path], tmp_path / "ix", processes=1)
    path.write_bytes(whole[: len(whole) // 2])
    second = index_paths([path], tmp_path / "ix", processes=1)
    assert first.articles_total == second.articles_total == 60
    assert second.removed == 0 and any(e.line is None for e in second.skipped)


def test_nothing_readable_does_not_replace_the_live_index(tmp_path):
    data = write_jsonl(tmp_path / "a.jsonl", [rec(1)])
    build_index([data], tmp_path / "ix", processes=1)
    live = storage.current(tmp_path / "ix")
    report = build_index([tmp_path / "missing"], tmp_path / "ix", processes=1)
    assert not report.usable and report.missing_paths == 1
    assert storage.current(tmp_path / "ix") == live and len(stored_docs(tmp_path / "ix")) == 1


@pytest.mark.corpus
def test_news_index_holds_every_slice(news_index):
    docs = list(stored_docs(news_index).values())
    sources = [s for d in docs for s in d["sources"]]
    langs = {d["lang"] for d in docs}
    assert {"en", "ar", "de"} <= langs
    bbc = [d for d in docs if any("/bbc-news/bbc/" in s for s in d["sources"])]
    assert len(bbc) >= 60 and {d["outlet"] for d in bbc} == {"BBC"}
    # The latin-1 file is read (its pound sign decoded), not skipped.
    sport199 = next(d for d in bbc if d["sources"][0].endswith("bbc/sport/199.txt"))
    assert "£15.8m" in sport199["body"]
    assert any(s.endswith("seeds/000_ef50dafd8e23f84f.txt") for s in sources)
    dated = [d for d in docs if d.get("year")]
    assert len({d["year"] for d in dated}) >= 5
    assert len({d["outlet"] for d in docs}) >= 15
    # HANDMADE went through the reader: its outlets and the just-before-midnight date.
    haaretz = next(d for d in docs if d["outlet"] == "Haaretz")
    assert haaretz["published"].isoformat() == "2022-06-16T23:59:30"


# --- the multi-process writer of large new generations ---------------------------------

def test_a_large_build_written_by_several_processes_holds_every_article(tmp_path, monkeypatch):
    from search.ingest import writing

    records = [rec(n, f"https://example.com/{n}") for n in range(1, 351)]
    data = write_jsonl(tmp_path / "a.jsonl", records)
    in_process = build_index([data], tmp_path / "one", processes=1)
    monkeypatch.setattr(writing, "MP_WRITER_BYTES", 0)  # this small input counts as large
    several = build_index([data], tmp_path / "ix", processes=1)
    assert (several.indexed, several.articles_total) == (350, 350)
    ix = whoosh_index.open_dir(str(storage.current(tmp_path / "ix")))
    assert len(ix._segments()) >= 2  # one segment per writer process
    assert stored_docs(tmp_path / "ix") == stored_docs(tmp_path / "one")
    assert in_process.articles_total == 350
    # An update of a multi-segment generation replaces documents in any segment.
    write_jsonl(data, [rec(n, f"https://example.com/{n}", text=f"Rewritten story {n} about "
                       "the harbour.") for n in range(1, 351, 7)] + records[350:])
    report = index_paths([data], tmp_path / "ix", processes=1)
    assert (report.indexed, report.removed, report.articles_total) == (50, 300, 50)
    assert {d["title"] for d in stored_docs(tmp_path / "ix").values()} \
        == {f"Story {n}" for n in range(1, 351, 7)}


def test_an_interrupted_multi_process_build_stops_its_writers(tmp_path, monkeypatch):
    import multiprocessing

    from search.ingest import writing

    monkeypatch.setattr(writing, "MP_WRITER_BYTES", 0)
    data = write_jsonl(tmp_path / "a.jsonl", [rec(n) for n in range(1, 301)])
    build_index([SEED_000], tmp_path / "ix", processes=1)
    live, before = storage.current(tmp_path / "ix"), stored_docs(tmp_path / "ix")

    def stop(progress):
        if progress.articles >= 250:
            raise KeyboardInterrupt

    children = set(multiprocessing.active_children())  # any left by earlier tests
    with pytest.raises(KeyboardInterrupt):
        build_index([data], tmp_path / "ix", processes=1, progress=stop)
    assert set(multiprocessing.active_children()) <= children  # no writer left waiting
    assert storage.current(tmp_path / "ix") == live
    assert stored_docs(tmp_path / "ix") == before


def test_a_record_taken_out_of_the_middle_of_a_file_takes_its_article_out(tmp_path):
    records = [rec(n, f"https://example.com/{n}") for n in range(1, 6)]
    data = write_jsonl(tmp_path / "a.jsonl", records)
    index_paths([data], tmp_path / "ix", processes=1)
    # Record 2 goes: records 3-5 move up, so the key "line 2" now gives article 3.
    write_jsonl(data, records[:1] + records[2:])
    report = index_paths([data], tmp_path / "ix", processes=1)
    docs = stored_docs(tmp_path / "ix")
    assert (report.removed, report.articles_total) == (1, 4)
    assert sorted(d["title"] for d in docs.values()) == ["Story 1", "Story 3", "Story 4",
                                                         "Story 5"]
    assert sorted(s for d in docs.values() for s in d["sources"]) \
        == sorted(source_key(str(data.resolve()), n) for n in range(1, 5))


def test_a_new_index_missing_documents_is_refused(tmp_path):
    from search.errors import IndexWriteError
    from search.ingest.writing import check_complete
    from search.ingest.writing import write_generation
    from tests.conftest import HANDMADE

    gen = write_generation(HANDMADE[:3], tmp_path / "ix")
    ix = whoosh_index.open_dir(str(gen))
    check_complete(ix, 3)
    with pytest.raises(IndexWriteError, match="holds 3 of the 4 articles written"):
        check_complete(ix, 4)
