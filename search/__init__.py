"""Newsfacet's engine: reading, enriching, indexing and querying news articles.

Nothing in this package imports Flask or speaks HTTP; ``web/`` builds on it.
"""

__version__ = "0.1.0"

from search.whoosh_fixes import apply as _fix_whoosh  # noqa: E402

_fix_whoosh()  # before any index is written or read
