"""The wheel holds every package of the source tree, templates and static files included."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile

from tests.conftest import ROOT


def _packages() -> list[str]:
    found = []
    for top in ("search", "web"):
        for init in sorted((ROOT / top).rglob("__init__.py")):
            found.append(".".join(init.parent.relative_to(ROOT).parts))
    return found


def test_the_wheel_imports_every_package(tmp_path):
    # Built from a copy: an in-tree build would reuse a stale build/ folder.
    src = tmp_path / "src"
    for name in ("search", "web"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q",
                    "--disable-pip-version-check", "-w", str(tmp_path / "dist")],
                   check=True, capture_output=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("newsfacet-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        z.extractall(site)
    assert any(n.startswith("web/templates/") for n in names)
    assert any(n.startswith("web/static/") for n in names)
    packages = _packages()
    assert {"search.ingest.readers", "search.query", "search.cli"} <= set(packages)
    # Imported from the unpacked wheel alone (its folder first on the path, run elsewhere).
    code = ("import importlib, sys\n"
            f"for name in {packages!r}:\n"
            "    m = importlib.import_module(name)\n"
            f"    assert m.__file__.startswith({str(site)!r}), (name, m.__file__)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120, env={"PYTHONPATH": str(site), "PATH": ""})
    assert out.returncode == 0, out.stderr
