"""How two accounts of one story differ: hand-written fixtures, and the seeds judged by hand."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from search.ingest.enrich.cleanup import clean
from search.ingest.enrich.entities import EntityExtractor
from search.ingest.enrich.pipeline import joined_text
from search.ingest.readers import read_file
from search.models import Entities
from search.stories.compare import MAX_CHARS
from search.stories.compare import THRESHOLD
from search.stories.compare import Account
from search.stories.compare import Quote
from search.stories.compare import align
from search.stories.compare import blocks
from search.stories.compare import compare
from search.stories.compare import quotes
from search.stories.compare import split_sentences
from tests.conftest import SEEDS

KEYS = {"shared", "only_a", "only_b", "quotes_only_a", "quotes_only_b", "entities_only_a",
        "entities_only_b", "truncated"}

RATES_A = """The central bank raised interest rates by half a point on Tuesday to fight inflation.

The governor resigned after the vote."""
RATES_B = """On Tuesday the central bank lifted its interest rate by half a percentage point, \
citing inflation.

Shares in Acme Inc. fell 3% on the news."""


def test_a_paraphrase_is_shared_and_a_fact_of_one_account_is_its_own():
    c = compare(RATES_A, RATES_B)
    assert c.shared == [(
        "The central bank raised interest rates by half a point on Tuesday to fight inflation.",
        "On Tuesday the central bank lifted its interest rate by half a percentage point, "
        "citing inflation.")]
    assert c.only_a == ["The governor resigned after the vote."]
    assert c.only_b == ["Shares in Acme Inc. fell 3% on the news."]
    assert len(c.scores) == 1 and THRESHOLD <= c.scores[0] <= 1.0


def test_one_word_in_common_does_not_make_a_pair():
    # Their cosine alone (0.45) is above the threshold: short sentences, one shared word.
    c = compare("Nobody is watching.", "He was watching the match at home.")
    assert c.shared == []
    assert c.only_a == ["Nobody is watching."]
    assert c.only_b == ["He was watching the match at home."]


def test_us_and_united_states_are_one_name():
    c = compare("United States officials approved the Israeli strikes.",
                "US officials approved Israeli strikes.")
    assert len(c.shared) == 1 and c.scores[0] > 0.9


def test_matching_is_one_to_one_and_in_the_order_of_a():
    a = "Flights resumed at the airport on Monday.\n\nThe airport runway was repaired overnight."
    b = "The runway of the airport was repaired during the night.\n\n" \
        "Flights at the airport resumed on Monday."
    c = compare(a, b)
    assert c.shared == [
        ("Flights resumed at the airport on Monday.", "Flights at the airport resumed on Monday."),
        ("The airport runway was repaired overnight.",
         "The runway of the airport was repaired during the night.")]
    assert c.only_a == [] and c.only_b == []


def test_align_takes_the_most_similar_pair_first_and_never_reuses_a_sentence():
    sim = np.array([[0.5, 0.9], [0.4, 0.8], [0.2, 0.1]])
    # (0, 1) first; then row 1's best left is column 0 at 0.4; row 2 is below the bar.
    assert align(sim, 0.3) == [(0, 1), (1, 0)]
    assert align(sim, 0.95) == []
    assert align(np.zeros((0, 3)), 0.3) == []


def test_identical_texts_are_all_shared():
    text = ("Israel struck the airport on Friday. Yes.\n\n"
            "“It was a deliberate attack,” the minister said.\n\nFlights were suspended.")
    c = compare(text, text)
    assert c.only_a == [] and c.only_b == []
    assert [a for a, _ in c.shared] == [b for _, b in c.shared] == split_sentences(text)
    # "Yes." has no content word: shared because its text is the same.
    assert ("Yes.", "Yes.") in c.shared
    assert c.scores == [1.0] * len(c.shared)
    assert c.quotes_only_a == [] and c.quotes_only_b == []


def test_empty_and_one_sentence_accounts():
    empty = compare("", "")
    assert empty.to_json() == {
        "shared": [], "only_a": [], "only_b": [], "quotes_only_a": [], "quotes_only_b": [],
        "entities_only_a": {"person": [], "org": [], "place": []},
        "entities_only_b": {"person": [], "org": [], "place": []}, "truncated": False}
    one = compare(Account(title="", body="The budget was cut by 5% this year."),
                  Account(title=" ", body=" \n\n \n"))
    assert one.only_a == ["The budget was cut by 5% this year."]
    assert one.shared == [] and one.only_b == []
    assert compare(Account(body=None), "Rain fell.").only_b == ["Rain fell."]


def test_html_special_characters_stay_text_and_nothing_crashes():
    text = ("<b>AT&T</b> said profits rose 5% & more. <script>alert('x')</script> Yes.\n\n"
            "Q&A: \"A < B\" and 'C > D' &amp; &lt;tags&gt;")
    c = compare(text, text)
    sentences = [a for a, _ in c.shared]
    assert "".join(sentences).replace(" ", "") == text.replace(" ", "").replace("\n", "")
    assert c.only_a == [] and c.only_b == []
    # The JSON carries the characters as they are: escaping is the web's job.
    body = json.loads(json.dumps(c.to_json()))
    assert any("<b>AT&T</b>" in a for a, _ in body["shared"])


def test_abbreviations_initials_and_datelines_do_not_split_a_sentence():
    text = ("WASHINGTON (Reuters) - Mr. Smith of the U.S. Treasury met Gen. Jones on Jan. 5 "
            "at 3 p.m. in St. Louis. They talked.\n\n"
            "LONDON, Oct. 3 (AP) — Shares in Acme Inc. fell 3%. The U.K. and the E.U. agreed.")
    assert split_sentences(text) == [
        "WASHINGTON (Reuters) - Mr. Smith of the U.S. Treasury met Gen. Jones on Jan. 5 "
        "at 3 p.m. in St. Louis.",
        "They talked.",
        "LONDON, Oct. 3 (AP) — Shares in Acme Inc. fell 3%.",
        "The U.K. and the E.U. agreed."]


def test_a_quote_of_two_sentences_is_two_sentences_and_one_quote():
    text = ("Comments were few. “There is tacit support for them. But there is hesitancy,” "
            "Dan Roe, a former U.S. envoy, told the paper.")
    assert split_sentences(text) == [
        "Comments were few.", "“There is tacit support for them.",
        "But there is hesitancy,” Dan Roe, a former U.S. envoy, told the paper."]
    assert quotes(text) == [Quote("There is tacit support for them. But there is hesitancy",
                                  "Dan Roe")]


def test_blocks_bullets_headings_captions_and_wrapped_lines():
    text = ("Key points\n• Rates rise to 5%\n* Inflation falls\n- Jobs steady\n\n"
            "The bank said on Tuesday that it would keep\nbuying bonds until the end of the "
            "year, and that rates\nwould stay high.\n\n"
            "Prime Minister Jane Doe.\nJane Doe's Journey: From Host to Prime Minister")
    assert blocks(text) == [
        "Key points", "Rates rise to 5%", "Inflation falls", "Jobs steady",
        "The bank said on Tuesday that it would keep buying bonds until the end of the year, "
        "and that rates would stay high.",
        "Prime Minister Jane Doe.", "Jane Doe's Journey: From Host to Prime Minister"]
    assert split_sentences(text)[:4] == ["Key points", "Rates rise to 5%", "Inflation falls",
                                         "Jobs steady"]
    # Wire copy hard-wrapped at a fixed width, a line ending in an abbreviation or before
    # a capital: the lines are one paragraph of prose.
    wire = ("The U.S.\nSenate voted on Tuesday to pass the bill, 52-48, after a long\n"
            "debate. Senator Jane Doe said the vote was\nHistoric for the country.")
    assert split_sentences(wire) == [
        "The U.S. Senate voted on Tuesday to pass the bill, 52-48, after a long debate.",
        "Senator Jane Doe said the vote was Historic for the country."]


def test_quotes_are_attributed_when_the_text_says_who():
    text = ("“We will do whatever it takes,” Jane Doe, the bank's governor, told reporters.\n\n"
            "\"The decision was a mistake,\" said John Roe, a former minister.\n\n"
            "The ministry said in a statement: \"We respect the bank's independence.\"\n\n"
            "He added: \"Nothing will change.\"\n\n"
            "It is a “well-known and deliberate process,” one former official said.\n\n"
            "Officials called the plan “dead on arrival” and left.\n\n"
            "The word “terror” was used once.")
    assert quotes(text) == [
        Quote("We will do whatever it takes", "Jane Doe"),
        Quote("The decision was a mistake", "John Roe"),
        Quote("We respect the bank's independence.", "The ministry"),
        Quote("Nothing will change.", None),
        Quote("well-known and deliberate process", "one former official"),
        Quote("dead on arrival", None),
    ]


def test_quotes_each_account_lacks():
    a = ("“We will do whatever it takes,” Jane Doe said.\n\n"
         "\"Prices must come down soon,\" the minister said.")
    b = ("The governor said the bank “will do whatever it takes” to cut inflation.\n\n"
         "“We are not worried about the markets,” a trader said.")
    c = compare(a, b)
    # Jane Doe's words are in b too (quoted in part): only the minister's are a's own.
    assert [q.as_dict() for q in c.quotes_only_a] == [
        {"text": "Prices must come down soon", "speaker": "the minister"}]
    assert c.to_json()["quotes_only_b"] == [
        {"text": "We are not worried about the markets", "speaker": "a trader"}]


def test_entities_each_account_lacks():
    a = Account(body="Dennis Ross spoke in Washington about the Pentagon and ImageSat.",
                entities=Entities(person=("Dennis Ross",), org=("Pentagon", "WSJ"),
                                  place=("Washington",)))
    b = Account(body="Ross said the pentagon had no comment. The WSJ report was denied.",
                entities={"person": ["Ross"], "org": ["ImageSat International"],
                          "place": ["Damascus"]})
    c = compare(a, b)
    # Ross: the same surname; Pentagon and WSJ: named in b's text though b's NER missed one.
    assert c.entities_only_a == {"person": [], "org": [], "place": ["Washington"]}
    assert c.entities_only_b == {"person": [], "org": ["ImageSat International"],
                                 "place": ["Damascus"]}


def test_a_very_long_body_is_cut_and_says_so():
    para = "The council approved the new budget for schools and roads on Monday."
    long = "\n\n".join([para] * (MAX_CHARS // len(para) + 50))
    c = compare(long, para)
    assert c.truncated is True and c.to_json()["truncated"] is True
    assert len(c.shared) == 1
    assert sum(len(s) for s in c.only_a) < MAX_CHARS
    assert compare(para, para).truncated is False


def test_the_same_texts_give_the_same_comparison():
    first = compare(RATES_A, RATES_B).to_json()
    assert all(compare(RATES_A, RATES_B).to_json() == first for _ in range(3))
    assert set(first) == KEYS


# --- the seeds, judged by hand ---------------------------------------------------------------

@pytest.fixture(scope="module")
def seed_accounts():
    """Seeds 000 and 004, read and cleaned as the indexer does, with their entities."""
    arts = []
    for name in ("000_ef50dafd8e23f84f.txt", "004_f3398df43f7a1b2a.txt"):
        errors: list = []
        arts.extend(clean(a) for a in read_file(SEEDS / name, errors.append))
        assert errors == []
    assert len(arts) == 2
    ents = EntityExtractor().extract([joined_text(a) for a in arts])
    return [Account(a.title, a.body, e) for a, e in zip(arts, ents)]


def _having(sentences, word: str) -> list[str]:
    return [s for s in sentences if word.lower() in s.lower()]


@pytest.mark.corpus
@pytest.mark.parametrize("with_entities", [True, False])
def test_seeds_compared_as_judged_by_hand(seed_accounts, with_entities):
    a, b = seed_accounts
    if not with_entities:
        a, b = Account(a.title, a.body), Account(b.title, b.body)
    c = compare(a, b)
    shared_a = [x for x, _ in c.shared]
    shared_b = [y for _, y in c.shared]
    # The Dennis Ross quote is seed 000's alone: its sentences are only in a.
    assert _having(c.only_a, "Ross") and not _having(shared_a, "Ross")
    assert not _having(c.only_b + shared_b, "Ross")
    # ImageSat's satellite damage report is seed 004's alone.
    assert _having(c.only_b, "ImageSat") and not _having(shared_b, "ImageSat")
    assert not _having(c.only_a + shared_a, "ImageSat")
    # Last week's strike on Damascus International Airport is told by both, in other words.
    airport = [(x, y) for x, y in c.shared
               if "Damascus International Airport" in x and "Damascus International Airport" in y]
    assert len(airport) == 1
    x, y = airport[0]
    assert "Last week" in x and "last week" in y and x != y
    # Every sentence is in exactly one place, in each account's order.
    assert len(c.shared) + len(c.only_a) >= 15 and len(c.shared) + len(c.only_b) >= 15
    # The title of the headless seed 004 repeats its first sentence: not a sentence of its own.
    assert not [s for s in c.only_b + shared_b if s.endswith("…")]


@pytest.mark.corpus
def test_seeds_quotes_and_entities_judged_by_hand(seed_accounts):
    c = compare(*seed_accounts)
    ross = [q for q in c.quotes_only_a if q.speaker and "Ross" in q.speaker]
    assert len(ross) == 1 and "tacit American support" in ross[0].text
    assert not [q for q in c.quotes_only_b if q.speaker and "Ross" in q.speaker]
    assert [q for q in c.quotes_only_b if q.speaker == "ISI"]
    assert "Dennis Ross" in c.entities_only_a["person"]
    assert "ImageSat International" in c.entities_only_b["org"]
    # Both name the airport and the Pentagon: neither is one account's own.
    for side in (c.entities_only_a, c.entities_only_b):
        assert "Damascus International Airport" not in side["place"]
        assert "Pentagon" not in side["org"]
    assert set(c.to_json()) == KEYS


def test_threads_comparing_at_once_get_what_one_gets_alone():
    pairs = [(RATES_A, RATES_B), (RATES_B, RATES_A), ("Rain fell on Leeds today.", RATES_A)] * 4
    alone = [compare(a, b).to_json() for a, b in pairs]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda p: compare(*p).to_json(), pairs))
    assert together == alone
