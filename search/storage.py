"""The index directory: generations, the ``current`` symlink, and the write lock.

``DIR/gen-000001/`` … are whole Whoosh indexes; ``DIR/current`` is a symlink to the
live one. A rebuild writes a new generation beside it and switches ``current`` with
``os.replace`` on a new symlink, which is atomic: readers see the old index or the
new one, never half of one. A generation is stamped ``COMPLETE`` (and flushed to disk)
just before it first goes live; one without the stamp is a killed run's leftover, and
the next run removes it (:func:`remove_leftovers`). Anything else in ``DIR`` (its ``.gitignore``, the
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
COMPLETE_FILE = "COMPLETE"
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


def is_complete(generation: Path) -> bool:
    """Whether a generation was finished: stamped just before it was first made live.
    One without the stamp is what a killed rebuild left, never read by anyone."""
    return (generation / COMPLETE_FILE).exists()


def _fsync_path(path: Path, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(generation: Path) -> None:
    """Flush a generation's files and its folder to disk: the switch must never point
    readers at a generation whose data a power cut could still take."""
    for p in sorted(generation.iterdir()):
        if p.is_file() and not p.is_symlink():
            _fsync_path(p)
    _fsync_path(generation, directory=True)


def _stamp(generation: Path) -> None:
    marker = generation / COMPLETE_FILE
    if not marker.exists():
        marker.write_text("finished; made live\n")
        _fsync_path(marker)


def switch(index_dir: str | os.PathLike, generation: Path) -> None:
    """Make ``generation`` live, atomically, then remove generations long out of use.

    Its files are flushed to disk and it is stamped complete first; the index
    directory is flushed after the ``os.replace``, so the switch itself is durable.
    """
    root = Path(index_dir)
    old = current(root)
    if old is not None and old != generation:
        _stamp(old)  # live once, so complete (one made before stamps existed has none)
    _stamp(generation)
    _fsync_tree(generation)
    tmp = root / f".{CURRENT}.{os.getpid()}.tmp"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    os.symlink(generation.name, tmp)
    os.replace(tmp, root / CURRENT)
    _fsync_path(root, directory=True)
    prune(root)


def prune(index_dir: str | os.PathLike, keep_seconds: float = KEEP_OLD_SECONDS) -> list[Path]:
    """Delete complete generations older than the live one, except the newest of them
    (kept for readers still on it), once out of use for ``keep_seconds``; return what
    was deleted. Unfinished generations are :func:`remove_leftovers`' job."""
    root = Path(index_dir)
    live = current(root)
    if live is None:
        return []
    older = [g for g in generations(root) if g.name < live.name and is_complete(g)]
    removed = []
    for g in older[:-1]:
        if time.time() - g.stat().st_mtime >= keep_seconds:
            shutil.rmtree(g, ignore_errors=True)
            removed.append(g)
    return removed


def remove_leftovers(index_dir: str | os.PathLike) -> list[Path]:
    """Delete what killed runs left: generations never made live (a killed ``--rebuild``'s
    or first build's: newer than the live one, or without the complete stamp) and
    ``.current.*.tmp`` links of a switch killed half-way. Never the live generation, nor
    a complete one before it. Call it holding :func:`write_lock` (no run is building).

    :returns: what was deleted
    """
    root = Path(index_dir)
    live = current(root)
    removed = []
    for g in generations(root):
        if g == live or is_complete(g) and (live is None or g.name < live.name):
            continue
        if live is not None and g.name < live.name and \
                time.time() - g.stat().st_mtime < KEEP_OLD_SECONDS:
            # Unstamped yet older than the live one: made before stamps existed (this
            # code removes its own leftovers while they are still the newest), so it
            # may have been live and read: it gets the grace old generations get.
            continue
        shutil.rmtree(g, ignore_errors=True)
        removed.append(g)
    if root.is_dir():
        for tmp in root.glob(f".{CURRENT}.*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
                removed.append(tmp)
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
