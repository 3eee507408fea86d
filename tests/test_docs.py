"""The README documents every setting and every CLI command."""

from __future__ import annotations

from search.cli import main
from search.config import SETTINGS
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented_in_the_readme():
    missing = [s.name for s in SETTINGS if f"`NEWSFACET_{s.name}`" not in README]
    assert missing == []


def test_every_command_is_documented_in_the_readme():
    missing = [name for name in main.commands if f"newsfacet {name}" not in README]
    assert missing == []


def test_readme_starts_with_the_two_commands():
    first_block = README.split("```bash", 1)[1].split("```", 1)[0]
    assert "bash scripts/demo.sh" in first_block
    assert "bash scripts/test.sh" in first_block


def test_only_the_settings_module_reads_the_environment():
    # Settings are built once at an edge and passed in (search.config.Settings).
    import re

    readers = [str(p.relative_to(ROOT)) for top in ("search", "web")
               for p in (ROOT / top).rglob("*.py")
               if re.search(r"os\.environ|getenv\(", p.read_text(encoding="utf-8"))]
    assert readers == ["search/config.py"]


def test_imports_are_sorted_one_per_line():
    # ruff's isort rules with the settings in pyproject.toml (one name per import line).
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "ruff", "check", "--select", "I", "--quiet",
                          "search", "web", "tests", "bench"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
