"""Enrichment on a real Dask cluster (``index --cluster``): same index as the local pool,
tasks on the cluster's workers, nothing lost when a worker dies, nothing left running."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner
from distributed import Client
from distributed import LocalCluster
from distributed import SchedulerPlugin
from distributed import WorkerPlugin

from search import storage
from search.cli import main
from search.config import Settings
from search.errors import ClusterError
from search.errors import ConfigError
from search.ingest.cluster import LOCAL_SCHEDULER
from search.ingest.cluster import WORKER_CONFIG
from search.ingest.indexer import build_index
from search.ingest.indexer import index_paths
from tests.conftest import ROOT
from tests.conftest import SEED_000
from tests.conftest import as_a_terminal_job
from tests.conftest import bbc_slice
from tests.stored import entity_states
from tests.stored import stored_list as stored_docs

# 41 articles of each of the five BBC categories: 205 English articles, 13 batches.
PER_CATEGORY = 41



def children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


@pytest.fixture(scope="module")
def bbc(tmp_path_factory) -> Path:
    """The first PER_CATEGORY articles of each bbc-news category, read in place."""
    return bbc_slice(tmp_path_factory.mktemp("bbc-slice"), PER_CATEGORY)


@pytest.fixture(scope="module")
def local_run(bbc, tmp_path_factory) -> list[dict]:
    """The stored documents of the same slice indexed with the local pool (2 processes)."""
    index_dir = tmp_path_factory.mktemp("local")
    report = build_index([bbc], index_dir, processes=2)
    assert report.indexed == 5 * PER_CATEGORY
    assert report.enriched_where == "in 2 local worker processes"
    return stored_docs(index_dir)


class KillOnce(WorkerPlugin):
    """Ends its worker's process (as a crash or the OOM killer would) when it starts its
    ``nth`` task, once in the whole cluster: the first worker to create ``marker`` dies,
    and writes its pid there first."""

    def __init__(self, marker: str, nth: int):
        self.marker, self.nth, self.started = marker, nth, 0

    def transition(self, key, start, finish, **kwargs):
        if finish != "executing":
            return
        self.started += 1
        if self.started == self.nth:
            self.strike()

    def strike(self):
        if self.claim(os.getpid()):
            os._exit(1)

    def claim(self, pid: int) -> bool:
        """Whether this is the first worker to strike (then ``pid`` is in ``marker``)."""
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return False
        os.write(fd, str(pid).encode())
        os.close(fd)
        return True


class Erred(SchedulerPlugin):
    """The tasks that failed on a scheduler (its transitions to ``erred``)."""

    def __init__(self):
        self.keys: list = []

    def transition(self, key, start, finish, *args, **kwargs):
        if finish == "erred":
            self.keys.append(key)


@pytest.fixture(scope="module")
def cluster():
    """A cluster this test module owns (so it can add plugins), reached by its address;
    its workers have the settings the README gives remote ones (WORKER_CONFIG)."""
    import dask

    with dask.config.set(WORKER_CONFIG):
        c = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                         dashboard_address=None, scheduler_kwargs=LOCAL_SCHEDULER)
    with c, Client(c) as client:
        yield c.scheduler_address, client


def _where_ner_ran():
    """In a worker: (whether this process loaded an enricher, the live children's pids,
    the pid of the child it runs NER in, that child's CPU seconds and threads)."""
    from search.ingest import dask_worker
    from search.ingest import workers

    kids = [p for p in psutil.Process().children() if p.status() != psutil.STATUS_ZOMBIE]
    pid = dask_worker._child.pid if dask_worker._child is not None else None
    child = psutil.Process(pid) if pid and psutil.pid_exists(pid) else None
    cpu, threads = (_cpu(child), child.num_threads()) if child else (0.0, 0)
    return bool(workers._enrichers), sorted(p.pid for p in kids), pid, (cpu, threads)


def test_each_worker_runs_ner_in_a_child_process_away_from_its_event_loop(
        bbc, local_run, cluster, tmp_path):
    # Sharing its process with the worker's event loop and threads cost NER 15-20% more
    # CPU per article than the local pool's processes (search.ingest.dask_worker).
    address, client = cluster
    report = index_paths([bbc / "tech"], tmp_path / "ix", cluster=address)
    # (NER runs once per distinct text: bbc-news repeats an article or two word for word)
    assert report.indexed == PER_CATEGORY and report.skipped == []
    assert report.enriched == sum(report.cluster_workers.values()) > PER_CATEGORY - 5
    assert stored_docs(tmp_path / "ix") == [d for d in local_run if "/tech/" in d["sources"][0]]
    found = client.run(_where_ner_ran)
    assert set(report.cluster_workers) <= set(found)
    for worker in report.cluster_workers:
        loaded, kids, child, (cpu, threads) = found[worker]
        assert not loaded  # the model is not in the worker process
        assert kids == [child]  # but in its one child, which did the work
        assert cpu > 1.0
        # single-threaded: a second thread, even an idle one, cost NER ~20% more CPU
        assert threads == 1


class KillChildOnce(KillOnce):
    """Kills the NER child of its worker in the middle of the worker's ``nth`` task, once
    in the whole cluster: as soon as the child has spent ``CPU_INTO_BATCH`` seconds of
    CPU on that task's batch (a batch of 16 articles needs about a second), whatever the
    load. The first worker to create ``marker`` writes the child's pid there."""

    CPU_INTO_BATCH = 0.05

    def strike(self):
        import threading

        from search.ingest import dask_worker

        child = psutil.Process(dask_worker._child.pid)
        threading.Thread(target=self.kill, args=(child, _cpu(child)), daemon=True).start()

    def kill(self, child, before: float):
        # The child is idle until the task hands it the batch: any CPU it spends from
        # here is this batch's.
        while _cpu(child) - before < self.CPU_INTO_BATCH:
            time.sleep(0.005)
        if self.claim(child.pid):
            child.kill()


def _cpu(process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def test_a_ner_child_killed_mid_batch_loses_no_article(bbc, local_run, cluster, tmp_path):
    address, client = cluster
    erred = Erred()
    client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.add_plugin(erred, name="erred"))
    marker = tmp_path / "killed"
    client.register_plugin(KillChildOnce(str(marker), nth=3), name="kill-child")
    try:
        paths = [bbc / "business", bbc / "politics"]
        report = index_paths(paths, tmp_path / "ix", cluster=address)
        erred_keys = client.run_on_scheduler(
            lambda dask_scheduler: list(dask_scheduler.plugins["erred"].keys))
    finally:
        client.unregister_worker_plugin("kill-child")
        client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.remove_plugin("erred"))
    killed = int(marker.read_text())
    assert not psutil.pid_exists(killed) or psutil.Process(killed).status() == "zombie"
    # Killed mid-batch: the worker noticed (its task failed), and the batch was sent
    # again article by article, each to a new child. Nothing is skipped.
    assert len(erred_keys) == 1
    assert report.skipped == []
    assert report.indexed == report.enriched == 2 * PER_CATEGORY
    want = [d for d in local_run if "/business/" in d["sources"][0]
            or "/politics/" in d["sources"][0]]
    assert stored_docs(tmp_path / "ix") == want


def test_a_daemon_worker_runs_ner_in_its_task_thread_and_says_so(bbc, local_run, tmp_path):
    # A nanny's worker is a daemon unless told otherwise, and may not start a child.
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=None, scheduler_kwargs=LOCAL_SCHEDULER) as c, \
            Client(c) as client:
        report = index_paths([bbc / "tech"], tmp_path / "ix", cluster=c.scheduler_address)
        [(loaded, kids, child, _)] = client.run(_where_ner_ran).values()
        [logs] = client.get_worker_logs().values()
    assert report.indexed == PER_CATEGORY and report.skipped == []
    assert report.enriched == sum(report.cluster_workers.values()) > PER_CATEGORY - 5
    assert stored_docs(tmp_path / "ix") == [d for d in local_run if "/tech/" in d["sources"][0]]
    assert loaded and kids == [] and child is None
    assert any("runs as a daemon process" in message for _, message in logs)


def test_a_local_cluster_gives_the_same_index_as_the_local_pool(bbc, local_run, tmp_path):
    before = children()
    report = build_index([bbc], tmp_path / "ix", cluster="local:2")
    assert report.indexed == 5 * PER_CATEGORY
    # NER ran once per distinct text (bbc-news repeats a few articles word for word).
    assert report.enriched == cached(tmp_path / "ix") > 5 * PER_CATEGORY - 5
    # Every batch ran on one of the cluster's two worker processes: the address each
    # task read from its own worker (distributed.get_worker), none from this process.
    assert len(report.cluster_workers) == 2
    assert all(a.startswith("tcp://127.0.0.1:") for a in report.cluster_workers)
    assert sum(report.cluster_workers.values()) == report.enriched
    assert report.enriched_where == "on the Dask cluster local:2 (2 of its 2 workers)"
    # Same documents, same entities, written in the same order.
    assert stored_docs(tmp_path / "ix") == local_run
    assert sum(bool(d.get("person")) for d in local_run) > 100  # NER really ran
    assert children() <= before  # the cluster's processes ended with the run


def test_a_worker_with_several_threads_gives_the_same_index(bbc, local_run, tmp_path):
    """`dask worker` starts a thread per core unless told `--nthreads 1`: its tasks run
    one at a time on the worker's one model, with the same entities as the local pool."""
    erred = Erred()
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                      dashboard_address=None, scheduler_kwargs=LOCAL_SCHEDULER) as c:
        c.scheduler.add_plugin(erred)
        paths = [bbc / "business", bbc / "politics"]
        report = index_paths(paths, tmp_path / "ix", cluster=c.scheduler_address)
    # no batch failed (two at once on one spaCy pipeline did, and were sent again
    # article by article, which hid it)
    assert erred.keys == []
    assert report.skipped == [] and report.indexed == report.enriched == 2 * PER_CATEGORY
    assert report.enriched_where.endswith("(1 of its 1 workers)")
    want = [d for d in local_run if "/business/" in d["sources"][0]
            or "/politics/" in d["sources"][0]]
    assert stored_docs(tmp_path / "ix") == want


@pytest.mark.parametrize("allowed_failures", [3, 0])
def test_a_worker_killed_mid_batch_loses_no_article(bbc, local_run, cluster, tmp_path,
                                                    allowed_failures):
    # 3 (Dask's default): the scheduler runs the dead worker's task again elsewhere.
    # 0: the task fails with KilledWorker, and the batch is sent again article by article.
    address, client = cluster

    def set_allowed(dask_scheduler, n=allowed_failures):
        dask_scheduler.allowed_failures = n

    client.run_on_scheduler(set_allowed)
    marker = tmp_path / "killed"
    client.register_plugin(KillOnce(str(marker), nth=3), name="kill-once")
    try:
        paths = [bbc / "business", bbc / "politics"]
        report = index_paths(paths, tmp_path / "ix", cluster=address)
    finally:
        client.unregister_worker_plugin("kill-once")
    killed = int(marker.read_text())
    assert not psutil.pid_exists(killed) or psutil.Process(killed).status() == "zombie"
    assert report.skipped == []
    assert report.indexed == report.enriched == 2 * PER_CATEGORY
    want = [d for d in local_run if "/business/" in d["sources"][0]
            or "/politics/" in d["sources"][0]]
    assert stored_docs(tmp_path / "ix") == want
    client.wait_for_workers(2, timeout=30)  # the nanny replaced the dead worker


def test_a_model_a_worker_cannot_load_fails_the_run(bbc, cluster, tmp_path):
    address, _ = cluster
    build_index([SEED_000], tmp_path / "ix", processes=1)
    live = storage.current(tmp_path / "ix")
    with pytest.raises(ConfigError, match="no_such_model_xx"):
        build_index([bbc / "tech"], tmp_path / "ix", cluster=address,
                    model="no_such_model_xx")
    assert storage.current(tmp_path / "ix") == live


def test_an_interrupted_cluster_run_leaves_no_process_and_the_old_index(bbc, tmp_path):
    # Interrupted in the text stage (by its progress callback) of a rebuild.
    build_index([SEED_000], tmp_path / "ix", processes=1)
    live, before_docs = storage.current(tmp_path / "ix"), stored_docs(tmp_path / "ix")

    def stop(progress):
        if progress.articles >= 48:
            raise KeyboardInterrupt

    before = children()
    with pytest.raises(KeyboardInterrupt):
        build_index([bbc], tmp_path / "ix", cluster="local:2", progress=stop)
    assert children() <= before  # no worker, nanny or scheduler process left
    assert storage.current(tmp_path / "ix") == live
    assert stored_docs(tmp_path / "ix") == before_docs


def test_ctrl_c_on_the_terminal_ends_every_process_of_a_local_cluster_run(bbc, tmp_path):
    # As a terminal sends it: SIGINT to the whole process group, workers included.
    build_index([SEED_000], tmp_path / "ix", processes=1)
    live = storage.current(tmp_path / "ix")
    proc = subprocess.Popen(
        [sys.executable, "-m", "search", "index", str(bbc), "--index", str(tmp_path / "ix"),
         "--rebuild", "--quiet", "--cluster", "local:2"],
        cwd=ROOT, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, preexec_fn=as_a_terminal_job)
    try:
        # Interrupt once the cluster's first batches are back (in the enrichment cache).
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if cached(tmp_path / "ix") >= 32:
                break
            time.sleep(0.1)
        assert proc.poll() is None, "the run ended before it could be interrupted"
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    assert proc.returncode == 1  # click's "Aborted!"
    assert "Traceback" not in err, err
    # Every process of its session ends (a worker may take a moment to exit).
    deadline = time.monotonic() + 15
    while (left := running_in_session(proc.pid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert left == []
    # Interrupted in the text stage, the old index is live; in the entity stage, the new
    # one is, with every article's text (a rebuild switches once its text is all in).
    now = storage.current(tmp_path / "ix")
    assert now == live or len(stored_docs(tmp_path / "ix")) == 5 * PER_CATEGORY


def cached(index_dir: Path) -> int:
    """Articles in the index's enrichment cache (SQLite in WAL mode: reading never waits)."""
    with contextlib.closing(sqlite3.connect(index_dir / "enrich-cache.sqlite")) as db:
        return db.execute("SELECT count(*) FROM enriched").fetchone()[0]


def running_in_session(sid: int) -> list[psutil.Process]:
    """The processes of session ``sid`` still running (not exited, not zombies)."""
    out = []
    for p in psutil.process_iter():
        try:
            if os.getsid(p.pid) == sid and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except (OSError, psutil.Error):
            continue  # gone meanwhile
    return out


# --- the command line -------------------------------------------------------------------

def run(*args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)


def test_cluster_with_processes_is_a_usage_error(tmp_path):
    result = run("index", SEED_000, "--index", tmp_path / "ix", "--cluster", "local:2",
                 "--processes", "2")
    assert result.exit_code == 2
    assert "--processes" in result.output and "--cluster" in result.output
    # The same from the environment, which names the variable to unset.
    result = run("index", SEED_000, "--index", tmp_path / "ix", "--processes", "2",
                 env={"NEWSFACET_CLUSTER": "local:2"})
    assert result.exit_code == 2 and "NEWSFACET_CLUSTER" in result.output
    assert not (tmp_path / "ix").exists()


@pytest.mark.parametrize("value", ["local:0", "local:two", "udp://10.0.0.1:8786", "tcp://"])
def test_a_malformed_cluster_is_a_usage_error(tmp_path, value):
    result = run("index", SEED_000, "--index", tmp_path / "ix", "--cluster", value)
    assert result.exit_code == 2
    assert "--cluster" in result.output and "Traceback" not in result.output


def test_an_unreachable_scheduler_exits_1_with_a_message(tmp_path):
    started = time.monotonic()
    result = CliRunner().invoke(main, ["index", str(SEED_000), "--index", str(tmp_path / "ix"),
                                       "--cluster", "tcp://127.0.0.1:1"],
                                env={"NEWSFACET_CLUSTER_TIMEOUT": "2"})
    assert time.monotonic() - started < 20
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Cannot reach the Dask scheduler at tcp://127.0.0.1:1" in result.output
    assert "dask scheduler" in result.output and "Traceback" not in result.output
    assert storage.current(tmp_path / "ix") is None


def test_a_cluster_left_without_workers_stops_the_run_and_the_next_run_finishes(
        bbc, tmp_path):
    """Every worker gone mid-run (the scheduler would keep the tasks waiting forever):
    the run stops with a message once CLUSTER_TIMEOUT passes without one; the text it
    committed stays searchable and a run without the cluster finds the rest."""
    index_dir = tmp_path / "ix"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None, scheduler_kwargs=LOCAL_SCHEDULER) as c:
        def progress(p):
            if p.entities_done >= 16 and c.workers:
                c.scale(0)  # as if every worker machine went away

        with pytest.raises(ClusterError, match="no worker for 2 s"):
            index_paths([bbc], index_dir, cluster=c.scheduler_address,
                        progress=progress, settings=Settings.load({"CLUSTER_TIMEOUT": 2}))
    states = entity_states(index_dir)
    assert len(states) == 5 * PER_CATEGORY  # every article's text is in
    assert any(state == "pending" for state, _ in states.values())
    report = index_paths([bbc], index_dir, processes=2)
    assert report.indexed == 0 and report.enriched > 0
    assert all(state == "done" for state, _ in entity_states(index_dir).values())


def _worker_settings():
    import dask

    return ({k: dask.config.get(k) for k in WORKER_CONFIG if "pre-spawn" not in k},
            "MALLOC_TRIM_THRESHOLD_" in os.environ)


def test_local_workers_run_without_the_statistical_profiler_and_with_slower_timers(monkeypatch):
    # Dask's profiler samples the task thread every 10 ms: on NER, which holds the GIL,
    # it cost the workers 10-20% of their rate; the event loop's 20 ms tick and monitors
    # take the GIL too, and the nanny's malloc setting maps large arrays each time
    # (search.ingest.cluster.WORKER_CONFIG).
    import dask

    from search.ingest.cluster import ClusterBatches

    # A nanny leaves its variables in this process's environment, which later workers
    # inherit: an earlier cluster of this session must not decide the answer.
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    batches = ClusterBatches("local:1", None)
    try:
        batches._connect()
        [(settings, trim)] = batches.client.run(_worker_settings).values()
        assert settings == {k: v for k, v in WORKER_CONFIG.items() if "pre-spawn" not in k}
        assert not trim
    finally:
        batches.close()
    # The settings are the workers', not left behind in this process's config.
    assert dask.config.get("distributed.worker.profile.enabled") is True
    assert dask.config.get("distributed.admin.tick.interval") == "20ms"


def test_the_readme_gives_remote_workers_the_settings_of_local_ones():
    import yaml

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    [block] = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)

    def flat(d, at=()):
        for k, v in d.items():
            yield from flat(v, at + (k,)) if isinstance(v, dict) else [(".".join(at + (k,)), v)]

    assert dict(flat(yaml.safe_load(block))) == WORKER_CONFIG
