"""The read side: query text and facet selections -> plain results.

A query walks these modules in order: :mod:`~search.query.parse` (user text -> Whoosh
query, hostile input repaired), :mod:`~search.query.bind` (the parts that need the
index: facet values, wildcards, fuzzy terms), :mod:`~search.query.evaluate` (every match
and its score, NumPy over decoded postings), :mod:`~search.query.rank` (the page),
:mod:`~search.query.facets` (counts), :mod:`~search.query.highlight` (snippets) and
:mod:`~search.query.suggest` (near spellings). :mod:`~search.query.generation` keeps one
open generation per index with its caches; :mod:`~search.query.whoosh_postings` is the
one module that reads Whoosh's posting format from its internals.
:mod:`~search.query.service` is the only API: ``search``, ``article``, ``info``.
"""
