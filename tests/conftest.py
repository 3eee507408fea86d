"""Shared fixtures. The corpora are read in place from ../shared/corpora, never copied."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPORA = (ROOT.parent / "shared" / "corpora").resolve()
SEEDS = CORPORA / "seeds"
SEED_000 = SEEDS / "000_ef50dafd8e23f84f.txt"
SEED_004 = SEEDS / "004_f3398df43f7a1b2a.txt"


@pytest.fixture(scope="session")
def corpora() -> Path:
    assert CORPORA.is_dir(), f"the corpora are expected at {CORPORA} (../shared beside the clone)"
    return CORPORA
