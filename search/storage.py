"""The index directory: generations, the ``current`` symlink, and the write lock.

``DIR/gen-000001/`` … are whole Whoosh indexes; ``DIR/current`` is a symlink to the
live one. A rebuild writes a new generation beside it and switches ``current`` with
``os.replace`` on a new symlink, which is atomic: readers see the old index or the
new one, never half of one. Anything else in ``DIR`` (its ``.gitignore``, the
enrichment cache) is left alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import time
from pathlib import Path

from search.errors import IndexBusyError
from search.errors import IndexMissingError

CURRENT = "current"
VERSION_FILE = "SCHEMA_VERSION"
LOCK_FILE = ".write.lock"
_GEN = re.compile(r"^gen-(\d{6})$")
# Generations older than the live one and the one before it are removed once they
# have not been live for this long (a reader may still hold one open).
KEEP_OLD_SECONDS = 600


def generations(index_dir: str | os.PathLike) -> list[Path]:
    """Every generation folder, oldest first."""
    root = Path(index_dir)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and _GEN.match(p.name))


def current(index_dir: str | os.PathLike) -> Path | None:
    """The live generation's folder, or ``None`` when there is none yet."""
    link = Path(index_dir) / CURRENT
    try:
        target = os.readlink(link)
    except OSError:
        return None
    path = (Path(index_dir) / target)
    return path if path.is_dir() else None


def require_current(index_dir: str | os.PathLike) -> Path:
    """The live generation's folder.

    :raises IndexMissingError: when the directory holds no index
    """
    path = current(index_dir)
    if path is None:
        raise IndexMissingError(str(index_dir))
    return path


def new_generation(index_dir: str | os.PathLike) -> Path:
    """Create and return an empty folder for the next generation."""
    root = Path(index_dir)
    root.mkdir(parents=True, exist_ok=True)
    numbers = [int(_GEN.match(p.name).group(1)) for p in generations(root)]
    path = root / f"gen-{(max(numbers) + 1 if numbers else 1):06d}"
    path.mkdir()
    return path


def schema_version(generation: Path) -> int:
    """The schema version a generation was built with (1 for those that predate the file)."""
    try:
        return int((generation / VERSION_FILE).read_text().strip())
    except (OSError, ValueError):
        return 1


def set_schema_version(generation: Path, version: int) -> None:
    (generation / VERSION_FILE).write_text(f"{version}\n")


def switch(index_dir: str | os.PathLike, generation: Path) -> None:
    """Make ``generation`` live, atomically, then remove generations long out of use."""
    root = Path(index_dir)
    tmp = root / f".{CURRENT}.{os.getpid()}.tmp"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    os.symlink(generation.name, tmp)
    os.replace(tmp, root / CURRENT)
    # Mark when each generation stopped being live, so old ones can go later.
    prune(root)


def prune(index_dir: str | os.PathLike, keep_seconds: float = KEEP_OLD_SECONDS) -> list[Path]:
    """Delete generations other than the live one and the one before it that have been
    out of use for ``keep_seconds``; return what was deleted."""
    root = Path(index_dir)
    live = current(root)
    gens = generations(root)
    if live is None:
        return []
    older = [g for g in gens if g.name < live.name]
    removed = []
    for g in older[:-1]:
        if time.time() - g.stat().st_mtime >= keep_seconds:
            shutil.rmtree(g, ignore_errors=True)
            removed.append(g)
    # Half-built generations newer than the live one are left by a crashed rebuild.
    for g in gens:
        if g.name > live.name and time.time() - g.stat().st_mtime >= keep_seconds:
            shutil.rmtree(g, ignore_errors=True)
            removed.append(g)
    return removed


@contextlib.contextmanager
def write_lock(index_dir: str | os.PathLike, timeout: float = 10.0):
    """Hold the index directory's write lock, waiting up to ``timeout`` seconds.

    :raises IndexBusyError: when another process holds it that long
    """
    root = Path(index_dir)
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IndexBusyError(
                        f"The index at {root} is busy: another `newsfacet index` is writing it. "
                        "Wait for it to finish, then run this again."
                    ) from None
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)  # closing releases the lock
