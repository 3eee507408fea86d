"""One blueprint: the search, article and story pages, and their JSON twins.

Each pair shares one data function (STYLE.md 5), so the page and the API cannot
disagree. Views parse, call :mod:`search.query.service`, render; nothing else.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from datetime import timezone

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from search.config import Settings
from search.errors import NotFoundError
from search.errors import QueryError
from search.query import analysis
from search.query import export
from search.query import service
from search.query import terms
from search.schema import MONTH
from search.schema import YEAR
from web import args as web_args
from web import present

bp = Blueprint("web", __name__)
_ARTICLE_ID = re.compile(r"^[0-9a-f]{16}$")


def _settings() -> Settings:
    """The app's settings, built once by :func:`web.create_app`."""
    return current_app.extensions["newsfacet"]


def search_data(items, path: str) -> dict:
    """Run the search that request arguments describe.

    :param items: the request's ``(name, value)`` pairs
    :param path: the path toggle URLs point at (``/`` or ``/api/search``)
    :raises QueryError: for a bad parameter or a query that cannot be run
    """
    pairs = web_args.known_pairs(items)
    settings = _settings()
    req = web_args.to_request(pairs, settings)
    results = service.search(settings["INDEX"], req, settings)
    toggles = {name: {v.value: web_args.toggle_url(path, pairs, name, v.value) for v in values}
               for name, values in results.facets.items()}
    return {"pairs": pairs, "req": req, "results": results, "toggles": toggles, "path": path}


def article_data(article_id: str):
    """The article ``article_id``, highlighted for the request's ``q`` when there is one.

    :raises NotFoundError: for an id that is not in the index
    """
    if not _ARTICLE_ID.match(article_id):
        raise NotFoundError(f"There is no article {article_id[:40]!r}.")
    settings = _settings()
    q = (request.args.get("q") or "").strip() or None
    if q and len(q) > int(settings["MAX_QUERY_LENGTH"]):
        q = None  # a highlight is a nicety; an over-long q just goes without one
    try:
        return service.article(settings["INDEX"], article_id, q=q, settings=settings), q
    except QueryError:
        if q is None:
            raise
        # The article is still worth showing when its highlight query cannot be read.
        return service.article(settings["INDEX"], article_id, settings=settings), None


@bp.route("/")
def search():
    """Show the results of a query, with facets, filters and pages."""
    data = search_data(request.args.items(multi=True), "/")
    results = data["results"]
    chart_facet, bars = present.chart_bars(results.facets.get(MONTH, ()),
                                           results.facets.get(YEAR, ()),
                                           MONTH not in results.truncated_facets)
    coverage = words = None
    if data["req"].q and results.total:
        # Coverage over time and top words of this query: one more evaluation of it
        # each, arrays and a sample of the best matches after that.
        tl, share = timeline_data(request.args.items(multi=True), default_interval=None)
        coverage = present.coverage_chart(tl, share)
        if ("words", "1") in data["pairs"]:  # asked for: it reads a few hundred articles
            words = terms.top_words(_settings()["INDEX"], data["req"], size=15,
                                    settings=_settings())
    return render_template("search.html", chart_facet=chart_facet, bars=bars,
                           coverage=coverage, words=words, **data)


def timeline_data(items, default_interval: str | None = "month"):
    """The timeline that request arguments describe, and ``(interval, by, share)``.

    :raises QueryError: for a bad parameter or a query that cannot be run
    """
    pairs = web_args.known_pairs(items)
    settings = _settings()
    req = web_args.to_request(pairs, settings)
    interval, by, share = web_args.timeline_args(pairs)
    tl = analysis.timeline(settings["INDEX"], req, interval or default_interval, by, settings)
    return tl, share


def compare_data(items):
    """The comparison request arguments describe (``q`` given 2 to 5 times).

    :raises QueryError: for a bad parameter, a wrong number of queries, or a query that
        cannot be run
    """
    pairs = web_args.known_pairs(items)
    settings = _settings()
    queries = [v for k, v in pairs if k == "q"]
    if not 2 <= len(queries) <= analysis.MAX_COMPARE:
        raise QueryError(f"compare takes 2 to {analysis.MAX_COMPARE} queries "
                         f"(q=…&q=…), not {len(queries)}.")
    rest = [(k, v) for k, v in pairs if k != "q"]
    requests = [web_args.to_request([("q", q)] + rest, settings) for q in queries]
    interval, _, share = web_args.timeline_args(pairs)
    return analysis.compare(settings["INDEX"], requests, interval, settings), share, pairs


@bp.route("/api/compare")
def api_compare():
    """2 to 5 queries side by side (DESIGN.md): totals, points over time, top facets."""
    comparison, _, _ = compare_data(request.args.items(multi=True))
    return jsonify(comparison.to_json())


@bp.route("/compare")
def compare():
    """2 to 5 queries side by side: one chart, their totals, outlets and entities."""
    pairs = web_args.known_pairs(request.args.items(multi=True))
    if len([k for k, _ in pairs if k == "q"]) < 2:
        # The empty form (or one query): nothing to compare yet.
        return render_template("compare.html", comparison=None, chart=None, pairs=pairs,
                               queries=[v for k, v in pairs if k == "q"] + ["", ""])
    comparison, share, pairs = compare_data(pairs)
    tl = analysis.Timeline(comparison.interval,
                           tuple(analysis.Series(c.q, c.points) for c in comparison.queries),
                           0, 0)
    return render_template("compare.html", comparison=comparison, pairs=pairs,
                           chart=present.coverage_chart(tl, share),
                           queries=[c.q for c in comparison.queries])


@bp.route("/api/terms")
def api_terms():
    """The words that set a search's matches apart from the whole archive (JLH)."""
    pairs = web_args.known_pairs(request.args.items(multi=True))
    settings = _settings()
    req = web_args.to_request(pairs, settings)
    return jsonify(terms.top_words(settings["INDEX"], req, settings=settings).to_json())


@bp.route("/api/timeline")
def api_timeline():
    """Matching articles per period, beside all articles of the period (DESIGN.md); without
    ``interval``, the one the span of the articles reads best in (a fixed default fails
    on an archive whose dates span centuries)."""
    tl, _ = timeline_data(request.args.items(multi=True), default_interval=None)
    return jsonify(tl.to_json())


@bp.route("/timeline.csv")
def timeline_csv():
    """The data behind the coverage chart, as CSV (one row per period and series)."""
    tl, _ = timeline_data(request.args.items(multi=True), default_interval=None)
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(analysis.to_csv_rows(tl))
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=timeline.csv"})


@bp.route("/export.<fmt>")
def export_rows(fmt: str):
    """Every article the search matches, streamed as CSV or JSON Lines (DESIGN.md)."""
    if fmt not in export.FORMATS:
        raise NotFoundError(f"There is no export as {fmt[:10]!r}: ask for export.csv or "
                            f"export.jsonl.")
    pairs = web_args.known_pairs(request.args.items(multi=True))
    settings = _settings()
    req = web_args.to_request(pairs, settings)
    mimetype = "text/csv" if fmt == "csv" else "application/x-ndjson"
    processes = current_app.extensions.get("newsfacet_exports")
    if processes is None:  # EXPORT_PROCESSES 0: in this process
        total, rows = export.records(settings["INDEX"], req, settings)  # a bad query: 400
        body = _blocks(rows, fmt)
    else:
        export.check(settings["INDEX"], req, settings)  # a bad query: 400 here, at once
        # The ranking, the reading and the encoding run in an export process, outside
        # this server's GIL; an error there before the first row is raised here.
        total, body = processes.export(req, settings, fmt, export.CHUNK)
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f"attachment; filename=newsfacet-export.{fmt}",
        "X-Total-Count": str(total)})


def _blocks(rows, fmt: str):
    """The rows of an export in this process, in blocks of ~64 KB (one write to the
    socket per block, not per row)."""
    block: list[str] = []
    size = 0
    try:
        for line in export.lines(rows, fmt):
            block.append(line)
            size += len(line)
            if size >= 65536:
                yield "".join(block).encode("utf-8")
                block, size = [], 0
        if block:
            yield "".join(block).encode("utf-8")
    finally:
        rows.close()


FEED_SIZE = 50
# Characters XML 1.0 does not allow even escaped (a feed reader rejects the whole feed).
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@bp.app_template_filter("xml_safe")
def xml_safe(text) -> str:
    """Text without the characters XML 1.0 forbids (it is escaped by the template)."""
    return _NOT_XML.sub("", str(text))


@bp.route("/feed.atom")
def feed():
    """The 50 newest matches of a search as an Atom 1.0 feed: a saved search any feed
    reader can follow. Links are absolute from ``PUBLIC_URL``, never the Host header."""
    pairs = [(k, v) for k, v in web_args.known_pairs(request.args.items(multi=True))
             if k not in ("page", "sort", "collapse", "interval", "by", "chart")]
    settings = _settings()
    req = dataclasses.replace(web_args.to_request(pairs, settings), sort="newest", page=1,
                              page_size=FEED_SIZE, with_facets=False)
    results = service.search(settings["INDEX"], req, settings)
    base = (settings["PUBLIC_URL"] or "http://127.0.0.1:8000/").rstrip("/")
    indexed = service.indexed_at(settings["INDEX"])
    entries = []
    for h in results.hits:
        article_url = base + url_for("web.article", article_id=h.id)
        source = h.url if h.url and h.url.lower().startswith(("http://", "https://")) else None
        entries.append({
            "id": article_url, "title": h.title, "link": source or article_url,
            "source": article_url if source else None,
            "updated": _atom_time(h.published or indexed),
            "published": _atom_time(h.published) if h.published else None,
            "outlet": h.outlet, "summary": present.plain(h.snippet)})
    newest = max((e["updated"] for e in entries), default=_atom_time(indexed))
    data = {"query": req.q, "total": results.total, "entries": entries, "updated": newest,
            "self_url": base + "/feed.atom" + web_args.query_string(pairs),
            "search_url": base + "/" + web_args.query_string(pairs)}
    body = render_template("feed.xml", feed=data)
    return Response(body, mimetype="application/atom+xml")


def _atom_time(when) -> str:
    """RFC 3339 in UTC, as Atom wants it."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@bp.route("/api/search")
def api_search():
    """The search as JSON (DESIGN.md contract), each facet value with its toggle URL."""
    data = search_data(request.args.items(multi=True), "/api/search")
    body = data["results"].to_json()
    for name, values in body["facets"].items():
        for v in values:
            v["toggle_url"] = data["toggles"][name][v["value"]]
    return jsonify(body)


@bp.route("/article/<article_id>")
def article(article_id: str):
    """Show one article, its matches marked when reached from a search."""
    view, q = article_data(article_id)
    return render_template("article.html", article=view, hit=view.hit, q=q)


@bp.route("/api/article/<article_id>")
def api_article(article_id: str):
    """One article as JSON."""
    view, _ = article_data(article_id)
    return jsonify({"ok": True, "article": view.to_json()})


def story_data(story_id: str):
    """The story ``story_id`` (an old id of it answers too).

    :raises NotFoundError: for an id no story has
    """
    if not _ARTICLE_ID.match(story_id):
        raise NotFoundError(f"There is no story {story_id[:40]!r}.")
    settings = _settings()
    return service.story(settings["INDEX"], story_id, settings)


@bp.route("/story/<story_id>")
def story(story_id: str):
    """Show one story: who ran it and when, every article, the entities they name."""
    view = story_data(story_id)
    if view.asked:  # an old id: the story's page lives at its id now
        return redirect(url_for("web.story", story_id=view.id), code=301)
    return render_template("story.html", story=view, timeline=present.story_timeline(view))


def compare_articles_data(story_id: str):
    """The comparison of articles ``a`` and ``b`` (request arguments) of a story.

    :raises NotFoundError: for an unknown story or an article not in it
    :raises QueryError: when ``a`` or ``b`` is missing
    """
    if not _ARTICLE_ID.match(story_id):
        raise NotFoundError(f"There is no story {story_id[:40]!r}.")
    a, b = (request.args.get(k, "").strip() for k in ("a", "b"))
    if not a or not b:
        raise QueryError("Give the two articles to compare: a=ARTICLE_ID&b=ARTICLE_ID.")
    settings = _settings()
    return service.story_compare(settings["INDEX"], story_id, a, b, settings)


@bp.route("/api/story/<story_id>/compare")
def api_story_compare(story_id: str):
    """How two articles of a story differ (DESIGN.md): shared, only_a, only_b, and the
    quotes and entities each lacks."""
    _, _, _, comparison = compare_articles_data(story_id)
    return jsonify({"ok": True, **comparison.to_json()})


@bp.route("/story/<story_id>/compare")
def story_compare(story_id: str):
    """Two accounts of a story side by side: what both say, what only one does."""
    view, a, b, comparison = compare_articles_data(story_id)
    return render_template("story_compare.html", story=view, a=a, b=b, c=comparison)


@bp.route("/api/story/<story_id>")
def api_story(story_id: str):
    """One story as JSON (DESIGN.md); an old id answers with ``redirected_from``."""
    return jsonify(story_data(story_id).to_json())


@bp.app_context_processor
def helpers() -> dict:
    """Formatting helpers and the toggle-URL functions, for every template."""
    return {"language_name": present.language_name, "show_date": present.show_date,
            "facet_label": present.FACET_LABELS, "filter_label": present.filter_label,
            "args": web_args}
