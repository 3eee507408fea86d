"""Cleanup: page furniture out, captions kept once, ordinary articles untouched."""

from __future__ import annotations

import gzip
import itertools
import json

import pytest

from search.ingest.enrich.cleanup import caption_pair
from search.ingest.enrich.cleanup import clean
from search.ingest.enrich.cleanup import clean_text
from search.ingest.enrich.cleanup import first_sentence
from search.ingest.enrich.cleanup import is_call_to_action
from search.ingest.enrich.cleanup import shorten
from search.ingest.readers import read_file
from search.models import Article
from tests.conftest import CORPORA
from tests.conftest import SEED_000
from tests.conftest import SEED_004


def article(body: str, title: str = "T") -> Article:
    return Article(id="x", source="handmade.txt", record=None, title=title, body=body)


def words(text: str) -> list[str]:
    return text.split()


@pytest.fixture(scope="module")
def seed_000() -> Article:
    [a] = read_file(SEED_000, print)
    return clean(a)


def test_seed_000_furniture_removed(seed_000):
    for furniture in ("Kinneret", "Subscribe", "LOG IN", "Click the alert icon",
                      "subscriber comments", "Yair Lapid", "Credit: SANA"):
        assert furniture not in seed_000.body, furniture
        assert furniture not in seed_000.caption, furniture
    assert seed_000.caption == "Attack in Syria, 2019"
    assert "Attack in Syria" not in seed_000.body


def test_seed_000_article_kept(seed_000):
    raw = SEED_000.read_text(encoding="utf-8")
    assert "Dennis Ross" in seed_000.body
    assert seed_000.body.startswith("While the U.S. generally approved of Israel's proposed strikes")
    assert seed_000.body.endswith("such as those from Iran and Hezbollah, making clandestine visits "
                                  "to Syria.")
    # Every paragraph of the article proper is there, whole.
    article_part = raw.split("Click the alert icon")[0]
    for para in article_part.split("\n\n")[1:]:
        if para.strip() and "Attack in Syria" not in para:
            assert para.strip() in seed_000.body
    assert "\n\n\n" not in seed_000.body


def test_seed_004_caption():
    [raw] = read_file(SEED_004, print)
    a = clean(raw)
    assert a.caption == "Air strike in Damascus, Syria"
    assert a.body.startswith("Israel secretly coordinates with the US")
    assert "REUTERS" not in a.body
    assert a.title == raw.title
    credited = "Air strike in Damascus, SyriaSANA/Handout via REUTERS"
    # Only the credited repeat of the caption goes; every other word stays.
    assert len(words(a.body)) + len(words(a.caption)) == len(words(raw.body)) - len(words(credited))


@pytest.mark.parametrize("line1, line2, expected", [
    ("Attack in Syria, 2019", "Attack in Syria, 2019Credit: SANA / AP", "Attack in Syria, 2019"),
    ("Air strike in Damascus, Syria", "Air strike in Damascus, SyriaSANA/Handout via REUTERS",
     "Air strike in Damascus, Syria"),
    ("The minister", "The minister said on Monday", None),  # a space: a sentence, not a credit
    ("Police", "Policemen arrived", None),  # lower case: one word, not a credit
    ("Same line", "Same line", None),
    ("", "Credit: AP", None),
    ("Short", "Short" + "X" * 100, None),  # too long to be a credit
])
def test_caption_pair(line1, line2, expected):
    assert caption_pair(line1, line2) == expected


@pytest.mark.parametrize("line, expected", [
    ("Subscribe today and save 40%", True),
    ("Already signed up? LOG IN", True),
    ("Click here to upload your video.", True),
    ("Sign up for our newsletter.", True),
    ("Advertisement", True),
    ("Share this story with your friends!", True),
    ("More people signed up for Medicare this year than ever.", False),
    ("He was signing autographs at the login desk of the hotel.", False),
    ("The company has 40 million subscribers and plans to sign up more in Asia next year, "
     "its chief executive told analysts on a call on Tuesday.", False),  # long: an article line
])
def test_call_to_action(line, expected):
    assert is_call_to_action(line) is expected


def test_trailing_teasers_after_a_prompt_removed():
    body = ("The council approved the budget on Tuesday after a long debate.\n\n"
            "The vote was 7 to 2.\n\n"
            "Follow us on social media for updates\n\n"
            "A crowd at the harbour.\n\nHarbour Festival Returns After Ten Years\n\n"
            "The mayor at his desk.\n\nMayor Faces Questions Over Parking Fees\n\n")
    text, captions = clean_text(body)
    assert text == ("The council approved the budget on Tuesday after a long debate.\n\n"
                    "The vote was 7 to 2.")
    assert captions == []


def test_short_closing_sentences_after_a_prompt_kept():
    body = ("Lead paragraph of the story, long enough to be article text for sure here.\n\n"
            "Advertisement\n\n"
            "The hearing resumes on Monday.\n\nThe defence will call two witnesses.\n")
    text, _ = clean_text(body)
    assert text == ("Lead paragraph of the story, long enough to be article text for sure here.\n\n"
                    "The hearing resumes on Monday.\n\nThe defence will call two witnesses.")


def test_trailing_short_list_without_prompt_kept():
    body = ("The draw for the fifth round was made on Sunday.\n\n"
            "Newcastle v Tottenham\nSouthampton v Manchester United\nBolton v Arsenal\n"
            "Burnley v Leicester\nChelsea v Everton")
    text, _ = clean_text(body)
    assert words(text) == words(body)


def test_caption_repeated_with_credit_kept_once():
    body = ("First paragraph.\n\nA photo of the bridge\nA photo of the bridgeCredit: Ann Lee / AP\n\n"
            "Second paragraph.\n\nA photo of the bridge\n\nA photo of the bridgeCredit: Ann Lee / AP")
    a = clean(article(body))
    assert a.body == "First paragraph.\n\nSecond paragraph."
    assert a.caption == "A photo of the bridge"


def test_whitespace_normalised():
    body = "\n\n  First   line\t here  \r\n\r\n\r\n\n\nSecond\u00a0para.\nSame para.  \n\n\n"
    a = clean(article(body, title="  Spaced \n title "))
    assert a.body == "First line here\n\nSecond para.\nSame para."
    assert a.title == "Spaced title"


def test_first_sentence_and_shorten():
    assert first_sentence("The U.S. Central Command said so. Then more.") == \
        "The U.S. Central Command said so."
    assert first_sentence("Mr. Smith left on Monday. He came back.") == "Mr. Smith left on Monday."
    assert shorten("word " * 40, 20) == "word word word word…"
    assert shorten("Short headline", 20) == "Short headline"


@pytest.mark.corpus
def test_bbc_bodies_untouched():
    articles = list(itertools.islice(
        read_file(CORPORA / "bbc-news" / "bbc-fulltext.tar.gz", print), 0, None, 5))
    assert len(articles) == 445
    for a in articles:
        assert words(clean(a).body) == words(a.body), a.source


@pytest.mark.corpus
def test_fakenewsnet_ordinary_article_untouched(tmp_path):
    with gzip.open(CORPORA / "fakenewsnet-content" / "fakenewsnet_news_content.jsonl.gz", "rt",
                   encoding="utf-8") as f:
        lines = list(itertools.islice(f, 60))
    path = tmp_path / "slice.jsonl"
    path.write_text("".join(lines), encoding="utf-8")
    articles = {a.record: a for a in read_file(path, lambda e: None)}
    raw = {n: json.loads(x) for n, x in enumerate(lines, 1)}
    # Line 2 (wmagazine) is an ordinary article: every word stays.
    assert raw[2]["url"].startswith("www.wmagazine.com")
    assert words(clean(articles[2]).body) == words(raw[2]["text"])
    # Across the slice nothing but prompt lines goes.
    for n, a in articles.items():
        before, after = a.body.split("\n"), clean(a).body
        removed = [x.strip() for x in before if x.strip() and " ".join(x.split()) not in after]
        assert all(is_call_to_action(x) for x in removed), (n, removed)


def test_closing_sentence_and_contact_after_a_prompt_kept():
    body = ("Swift and Gyllenhaal briefly tried to get back together in January 2011.\n\n"
            "Advertisement\n\n"
            'The track will be on her next album, "Red," which lands on Oct. 22.\n\n'
            "ESacks@nydailynews.com")
    text, _ = clean_text(body)
    assert text == body.replace("Advertisement\n\n", "")
