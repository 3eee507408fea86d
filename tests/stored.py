"""What an index holds, read the way a test checks it: each live document's stored
fields, with its entities from the generation's side store (Whoosh documents do not
hold them) under the facet names, as comma-joined display forms."""

from __future__ import annotations

from pathlib import Path

from whoosh import index as whoosh_index

from search import storage
from search.schema import ENTITY_KINDS
from search.sidestore import PENDING
from search.sidestore import SideStore


def entity_states(index_dir: Path) -> dict:
    """Article id -> its side-store state and entities as NER gave them ``(state,
    Entities)`` (not as stage 3 resolved them: that is a function of the archive)."""
    from search.sidestore import DONE
    from search.sidestore import _decode

    side = SideStore(storage.current(index_dir), readonly=True)
    try:
        rows = side.db.execute("SELECT id, state, entities FROM articles").fetchall()
    finally:
        side.close()
    return {aid: (state, _decode(raw) if state == DONE else _decode(None))
            for aid, state, raw in rows}


def stored_list(index_dir: Path) -> list[dict]:
    """Every live document's stored fields and entities, in the order they were written."""
    ix = whoosh_index.open_dir(str(storage.current(index_dir)))
    with ix.searcher() as s:
        docs = list(s.all_stored_fields())
    states = entity_states(index_dir)
    for d in docs:
        state, entities = states.get(d["id"], (PENDING, None))
        for kind in ENTITY_KINDS:
            values = getattr(entities, kind) if entities is not None else ()
            if values:
                d[kind] = ",".join(values)
    return docs


def stored_docs(index_dir: Path) -> dict[str, dict]:
    """:func:`stored_list` by id."""
    return {d["id"]: d for d in stored_list(index_dir)}
