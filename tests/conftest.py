"""Shared fixtures. The corpora are read in place from ../shared/corpora, never copied."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPORA = (ROOT.parent / "shared" / "corpora").resolve()
SEEDS = CORPORA / "seeds"
SEED_000 = SEEDS / "000_ef50dafd8e23f84f.txt"
SEED_004 = SEEDS / "004_f3398df43f7a1b2a.txt"


def as_a_terminal_job() -> None:
    """``preexec_fn`` of a process a test stops with SIGINT (Ctrl-C): the default
    action, as a terminal's foreground job has it, even when the test run ignores SIGINT
    (a shell ignores it in whatever it starts in the background with ``&``), which the
    process would otherwise inherit."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(autouse=True)
def _close_temporary_generations(request):
    """After a test that used ``tmp_path``, close the query side's generations of the
    indexes it made there (their open files would last until the process exits)."""
    # Asked for before the test, so that tmp_path is torn down after this, not before.
    folder = request.getfixturevalue("tmp_path") if "tmp_path" in request.fixturenames else None
    yield
    if folder is not None:
        from search.query import generation

        generation.close_under(folder)


@pytest.fixture(scope="session")
def corpora() -> Path:
    assert CORPORA.is_dir(), f"the corpora are expected at {CORPORA} (../shared beside the clone)"
    return CORPORA


# --- A small real index from hand-written, already-enriched articles -------------------
# For unit tests of the query layer and the web app that must not depend on NER output.
# (Integration tests use `news_index`, built by the real indexer from real corpora.)

from datetime import datetime  # noqa: E402
from datetime import timezone  # noqa: E402

from search.models import Article  # noqa: E402
from search.models import Entities  # noqa: E402


def _utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


HANDMADE = [
    Article(id="a000000000000001", source="handmade/1.txt", record=None,
            title="Israel strikes Damascus International Airport",
            body="Israeli jets struck Damascus International Airport on Friday, the Syrian army said. "
                 "Hezbollah's allies condemned the strike. Dennis Ross said coordination with the "
                 "Pentagon was long-standing.",
            outlet="Haaretz", published=_utc(2022, 6, 16, 23, 59, 30), lang="en",
            url="https://www.haaretz.com/a/1",
            entities=Entities(person=("Dennis Ross",), org=("Hezbollah", "Pentagon"),
                              place=("Damascus International Airport", "Syria"))),
    Article(id="a000000000000002", source="handmade/2.txt", record=None,
            title="Airport runways reopen after strike",
            body="Flights resumed at the airport in Damascus on Saturday after repairs to the runway. "
                 "Russia condemned the attack; Mikhail Bogdanov summoned the ambassador.",
            outlet="Reuters", published=_utc(2022, 6, 17, 0, 0, 30), lang="en",
            url="https://www.reuters.com/a/2",
            entities=Entities(person=("Mikhail Bogdanov",), org=(), place=("Damascus", "Russia"))),
    Article(id="a000000000000003", source="handmade/3.txt", record=None,
            title="Football: United win the cup",
            body="Manchester United won the cup final on Sunday. The striker scored twice in the "
                 "second half. <script>alert('x')</script> Fans & players celebrated.",
            outlet="BBC", published=_utc(2021, 5, 23, 18, 0), lang="en",
            entities=Entities(person=(), org=("Manchester United",), place=("Manchester",))),
    Article(id="a000000000000004", source="handmade/4.txt", record=None,
            title="Wahlen in Österreich: Regierung unter Druck",
            body="Die Regierung in Wien steht nach der Wahl unter Druck. Die Opposition fordert "
                 "Neuwahlen und kritisiert den Kanzler.",
            outlet="Der Standard", published=_utc(2016, 3, 1, 9, 30), lang="de"),
    Article(id="a000000000000005", source="handmade/5.txt", record=None,
            title="الرياض تستضيف مؤتمر الطاقة",
            body="تستضيف الرياض مؤتمرا دوليا للطاقة بمشاركة وزراء من عدة دول.",
            outlet="Al Riyadh", published=_utc(2015, 8, 9, 12, 0), lang="ar"),
    Article(id="a000000000000006", source="handmade/6.txt", record=None,
            title="Hezbollah and Russia in Syria",
            body="Analysts say Hezbollah and Russia both back the government in Damascus, "
                 "though their aims differ.",
            outlet="Reuters", published=None, lang="en",
            entities=Entities(org=("Hezbollah",), place=("Russia", "Syria", "Damascus"))),
]


def write_articles_index(articles, index_dir: Path) -> Path:
    """A real on-disk index (one generation, made live) of already-enriched articles."""
    from search.ingest.writing import write_generation

    write_generation(articles, index_dir)
    return Path(index_dir)


@pytest.fixture(scope="session")
def small_index(tmp_path_factory) -> Path:
    """Index directory holding the HANDMADE articles (read-only for tests)."""
    return write_articles_index(HANDMADE, tmp_path_factory.mktemp("small_index"))


# --- news_index: real corpora slices through the real indexer (readers, cleanup, NER) ---

NEWS_BBC_PER_CATEGORY = 12
NEWS_FNN_RECORDS = 60
NEWS_SAUDI_RECORDS = 40


def bbc_slice(dest: Path, per_category: int, also: tuple[str, ...] = ()) -> Path:
    """The first ``per_category`` members of each BBC category (by name), and the members
    named in ``also``, extracted under ``dest`` with their names inside the archive (one
    article a file): the folder ``dest/bbc``."""
    import tarfile

    with tarfile.open(CORPORA / "bbc-news" / "bbc-fulltext.tar.gz") as tar:
        members = sorted((m for m in tar.getmembers() if m.isfile() and m.name.endswith(".txt")
                          and m.name.count("/") == 2), key=lambda m: m.name)
        per: dict[str, int] = {}
        for m in members:
            cat = m.name.split("/")[1]
            if per.get(cat, 0) < per_category or m.name in also:
                per[cat] = per.get(cat, 0) + 1
                target = dest / m.name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(tar.extractfile(m).read())
    return dest / "bbc"


def _news_bbc_slice(dest: Path) -> Path:
    """The first members of each BBC category, plus sport/199.txt (the latin-1 one)."""
    return bbc_slice(dest, NEWS_BBC_PER_CATEGORY, also=("bbc/sport/199.txt",))


def _news_fnn_slice(dest: Path) -> Path:
    """Real FakeNewsNet records with a plausible publish_date (2000 onwards) and some text."""
    import gzip
    import json

    out = dest / "fakenewsnet-dated.jsonl"
    # An equal share of each part (politifact real and fake, gossipcop fake): many outlets.
    share = NEWS_FNN_RECORDS // 3
    kept: dict[str, list[str]] = {}
    with gzip.open(CORPORA / "fakenewsnet-content" / "fakenewsnet_news_content.jsonl.gz",
                   "rt", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            when = rec.get("publish_date")
            part = kept.setdefault(f"{rec.get('fnn_dataset')}/{rec.get('fnn_label')}", [])
            if (isinstance(when, (int, float)) and 946684800 <= when <= 1735689600
                    and len(rec.get("text") or "") > 300 and len(part) < share):
                part.append(line.rstrip("\n"))
    kept = [line for part in kept.values() for line in part]
    out.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return out


def _news_saudi_slice(dest: Path) -> Path:
    import json
    import zipfile

    with zipfile.ZipFile(CORPORA / "saudinewsnet-ar" / "2015-08-09.zip") as z:
        records = json.loads(z.read("2015-08-09.json").decode("utf-8"))
    out = dest / "saudinewsnet-slice.json"
    # Spread over the day's file, so several outlets are in.
    step = max(1, len(records) // NEWS_SAUDI_RECORDS)
    chosen = records[::step][:NEWS_SAUDI_RECORDS]
    out.write_text(json.dumps(chosen, ensure_ascii=False), encoding="utf-8")
    return out


def _news_handmade(dest: Path) -> Path:
    """HANDMADE as JSON Lines in the shape exports have, so it goes through reader and NER."""
    import json

    out = dest / "handmade.jsonl"
    lines = []
    for a in HANDMADE:
        rec = {"title": a.title, "text": a.body, "source": a.outlet}
        if a.url:
            rec["url"] = a.url
        if a.published:
            rec["published"] = a.published.strftime("%Y-%m-%dT%H:%M:%SZ")
        lines.append(json.dumps(rec, ensure_ascii=False))
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


@pytest.fixture(scope="session")
def news_index(tmp_path_factory) -> Path:
    """Index directory built by the real indexer (2 workers, real NER) from: both seeds, a
    slice of bbc-news (outlet "BBC", incl. sport/199.txt), dated FakeNewsNet records,
    SaudiNewsNet records and HANDMADE as JSONL. Read-only for tests."""
    from search.ingest.indexer import build_index
    from search.ingest.indexer import index_paths

    data = tmp_path_factory.mktemp("news_data")
    index_dir = tmp_path_factory.mktemp("news_index")
    inputs = [SEEDS, _news_fnn_slice(data), _news_saudi_slice(data), _news_handmade(data)]
    bbc = _news_bbc_slice(data / "bbc-news")
    build_index(inputs, index_dir, processes=2)
    index_paths([bbc], index_dir, outlet="BBC", processes=2)
    return index_dir


# --- Month and year ends, to the second: date comparisons' boundaries ------------------

MONTH_ENDS = [
    Article(id="b000000000000001", source="handmade/month-end-1.txt", record=None,
            title="Ceasefire talks stall at the end of June",
            body="Negotiators in Cairo said the ceasefire talks stalled late on Thursday.",
            outlet="Reuters", published=_utc(2022, 6, 30, 23, 59, 59), lang="en"),
    Article(id="b000000000000002", source="handmade/month-end-2.txt", record=None,
            title="Ceasefire talks resume in July",
            body="Negotiators in Cairo resumed the ceasefire talks just after midnight.",
            outlet="Reuters", published=_utc(2022, 7, 1, 0, 0, 0), lang="en"),
    Article(id="b000000000000003", source="handmade/year-end-1.txt", record=None,
            title="Fireworks over the harbour on New Year's Eve",
            body="Crowds gathered at the harbour for the last fireworks of the year.",
            outlet="BBC", published=_utc(2021, 12, 31, 23, 59, 59), lang="en"),
    Article(id="b000000000000004", source="handmade/year-end-2.txt", record=None,
            title="First baby of the new year born at midnight",
            body="The hospital said the first baby of the year was born at midnight exactly.",
            outlet="BBC", published=_utc(2022, 1, 1, 0, 0, 0), lang="en"),
]


@pytest.fixture(scope="session")
def month_ends_index(tmp_path_factory) -> Path:
    """Index directory holding HANDMADE and MONTH_ENDS (read-only for tests)."""
    return write_articles_index(HANDMADE + MONTH_ENDS, tmp_path_factory.mktemp("month_ends"))


def needs_news_entities(index_dir: Path) -> None:
    """Skip a test of entities on ``news_index`` while the real indexer writes no side
    store (issue 11: the text-first indexer that fills it in lands separately)."""
    from search import sidestore
    from search import storage

    if not sidestore.path_of(storage.require_current(index_dir)).exists():
        pytest.skip("news_index has no side store: the indexer does not write entities yet")
