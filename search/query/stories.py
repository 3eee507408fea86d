"""Copies and stories of one generation as arrays over its document numbers.

Stage 4 of indexing writes each article's story and copy to the side store
(:meth:`search.sidestore.SideStore.set_stories`); a server reads them whole when the
side store says they changed (they change in batches, once per clustering run, not
article by article as entities do) and maps them onto the document numbers of the
commit it serves. Everything here is built once and never changed, like
:class:`search.query.facets.FacetTables`.

Collapsing a ranked list keeps the first document of each group: copies group by the
earliest article of their copy group, stories by story; an article stage 4 has not
reached yet is a group of its own.

>>> import numpy as np
>>> first_of_groups(np.array([5, 3, 9, 4]), np.array([0, 1, 0, 2, 1, 3, 0, 0, 0, 1]))
array([5, 3, 9])
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from search.sidestore import StoryRow


class StoryTables:
    """Stories and copy groups over the document numbers of one commit.

    :param doc: the commit's :class:`~search.query.facets.DocTables` (ids, live
        documents, outlets)
    :param seq: the side store's stories sequence these rows were read at
    :param rows: every article's :class:`~search.sidestore.StoryRow`
    :param redirects: old story id -> the id that story has now
    """

    def __init__(self, doc, seq: int = 0, rows: list[StoryRow] = (),
                 redirects: Mapping[str, str] | None = None):
        n = doc.n
        self.seq = seq
        self.redirects = dict(redirects or {})
        self.done = 0
        # story code per document (-1: not reached yet); codes index ``story_ids``
        self.story = np.full(n, -1, dtype=np.int32)
        # the copy group of each document: the docnum of its group's first article
        # (itself when it is nobody's copy or stage 4 has not reached it)
        self.copy_root = np.arange(n, dtype=np.int64)
        codes: dict[str, int] = {}
        docnum_of = doc.docnum_of
        for r in rows:
            d = docnum_of.get(r.id)
            if d is None:
                continue
            self.done += 1
            code = codes.get(r.story)
            if code is None:
                code = codes[r.story] = len(codes)
            self.story[d] = code
            if r.copy_of is not None:
                root = docnum_of.get(r.copy_of)
                if root is not None:
                    self.copy_root[d] = root
        self.story_ids = list(codes)
        self.code_of = codes
        live = doc.live
        known = (self.story >= 0) & live
        k = len(self.story_ids)
        self.articles = np.bincount(self.story[known], minlength=k).astype(np.int64)
        outlets = doc.single.get("outlet")
        if outlets is not None and k:
            has = known & (outlets >= 0)
            pairs = np.unique(self.story[has].astype(np.int64) * (int(outlets.max()) + 1)
                              + outlets[has])
            width = int(outlets.max()) + 1
            self.outlets = np.bincount(pairs // width, minlength=k).astype(np.int64)
        else:
            self.outlets = np.zeros(k, dtype=np.int64)
        # copies: other live members of each document's copy group
        roots = self.copy_root[live]
        size = np.bincount(roots, minlength=n)
        self.copies = np.maximum(size[self.copy_root] - 1, 0)
        self.copies[~live] = 0
        # group keys for collapsing: one integer per document
        self.story_group = np.where(self.story >= 0, self.story.astype(np.int64),
                                    k + np.arange(n, dtype=np.int64))
        self.n = n

    def resolve(self, story_id: str) -> str:
        """The id a story has now (``story_id`` itself unless it was redirected)."""
        seen = 0
        while story_id in self.redirects and seen < 100:  # a cycle never loops forever
            story_id = self.redirects[story_id]
            seen += 1
        return story_id

    def members(self, story_id: str) -> np.ndarray:
        """Live document numbers of a story (by its id now or an old one), ascending."""
        code = self.code_of.get(self.resolve(story_id))
        if code is None:
            return np.empty(0, dtype=np.int64)
        return np.flatnonzero(self.story == code)

    def mask(self, story_id: str) -> np.ndarray:
        """Documents of a story, as a boolean mask (all false for an unknown id)."""
        out = np.zeros(self.n, dtype=bool)
        out[self.members(story_id)] = True
        return out

    def groups(self, collapse: str) -> np.ndarray | None:
        """The group key of each document for ``collapse`` (``None`` for ``"none"``)."""
        if collapse == "copies":
            return self.copy_root
        if collapse == "story":
            return self.story_group
        return None

    def of(self, docnum: int) -> dict | None:
        """``{"id", "articles", "outlets"}`` of a document's story, or ``None`` while
        stage 4 has not reached it."""
        code = int(self.story[docnum])
        if code < 0:
            return None
        return {"id": self.story_ids[code], "articles": int(self.articles[code]),
                "outlets": int(self.outlets[code])}

    def copy_of(self, docnum: int, ids) -> str | None:
        """The id of the article this document is a copy of, or ``None``."""
        root = int(self.copy_root[docnum])
        return None if root == docnum else str(ids[root])


def first_of_groups(ranked: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """The documents of ``ranked`` that come first in their group, in ranked order.

    :param ranked: document numbers, best first
    :param groups: the group key of every document
    """
    if len(ranked) == 0:
        return ranked
    _, first = np.unique(groups[ranked], return_index=True)
    return ranked[np.sort(first)]


def count_groups(docs: np.ndarray, groups: np.ndarray) -> int:
    """How many groups the documents ``docs`` fall into."""
    if len(docs) == 0:
        return 0
    # A count per key, not a sort: keys are below twice the number of documents.
    return int(np.count_nonzero(np.bincount(groups[docs])))
