"""What the browser tests share: Debian's Chromium under Playwright, and a real server."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import ROOT

ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@contextmanager
def serving(index_dir: Path):
    """The app over ``index_dir`` under werkzeug's threaded server on a free port: its
    base URL."""
    from werkzeug.serving import make_server

    from web import create_app

    server = make_server("127.0.0.1", 0, create_app({"INDEX": str(index_dir)}), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (scripts/test.sh installs it)")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def problems() -> list[str]:
    return []


@pytest.fixture
def page(browser, base_url, problems):
    """A page of a fresh browser context on the module's ``base_url`` (each browser test
    module serves its own index); no console error may appear while it is used."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1200, "height": 900},
                                  accept_downloads=True)
    pg = context.new_page()
    # A CSP violation or a failed request shows up in the console: none is allowed.
    pg.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: problems.append(str(e)))
    pg.set_default_timeout(5000)
    yield pg
    context.close()
    assert problems == []
