"""Newsfacet's engine: reading, enriching, indexing and querying news articles.

Nothing in this package imports Flask or speaks HTTP; ``web/`` builds on it.
"""

__version__ = "0.1.0"
