"""The write side: files -> articles -> enriched articles -> Whoosh documents.

``readers/`` turn files in the formats users have into raw articles, ``enrich/`` cleans
them and adds language, entities, outlet and date (with the enrichment cache),
:mod:`~search.ingest.workers` runs enrichment off the main process,
:mod:`~search.ingest.writing` opens and cancels Whoosh writers,
:mod:`~search.ingest.manifest` records what each generation was built from, and
:mod:`~search.ingest.indexer` ties them together. Its one entry point is
:func:`index_paths`.
"""

from __future__ import annotations

from search.ingest.indexer import index_paths

__all__ = ["index_paths"]
