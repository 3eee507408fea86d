"""`newsfacet search` (placeholder until the query layer lands)."""
