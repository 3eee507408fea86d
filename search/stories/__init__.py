"""Stories across outlets: copies of the same text, and articles that report one event.

Stage 4 of indexing (DESIGN.md, "Derived facts and the stages of indexing"): computed
beside the index, after entities, never inside Whoosh documents.

- :mod:`search.stories.copies` — exact and near-duplicate text (MinHash / LSH, verified).
- :mod:`search.stories.cluster` — story membership, a function of the archive.
- :mod:`search.stories.compare` — how two accounts of one story differ, sentence by sentence.
"""
