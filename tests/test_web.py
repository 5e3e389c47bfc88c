"""``thresher serve``: a real server (the CLI, in a subprocess) on a real fixture release, driven by a
real browser (Debian's chromium through Playwright), plus the error pages and the removal flow over
plain HTTP. CI installs chromium (.ci/run); elsewhere the browser test is skipped if it is missing."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from test_card import build_release

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
CLI = [sys.executable, "-c", "from thresher.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str, data: dict | None = None, headers: dict | None = None) -> tuple[int, str, dict]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers or {}), timeout=60) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


def session(base: str) -> tuple[str, str]:
    """(cookie, csrf token) of a browser session that opened one of the site's form pages."""
    _, page, hdrs = fetch(base + "/remove")
    cookie = hdrs.get("set-cookie", hdrs.get("Set-Cookie", "")).split(";")[0]
    return cookie, page.split('name="csrf_token" value="')[1].split('"')[0]


def get(url: str, data: dict | None = None, headers: dict | None = None) -> tuple[int, str]:
    """GET, or with ``data`` POST a form as the site's own page does (session cookie, token, Origin);
    ``headers`` override what the page would send."""
    if data is not None:
        base = "/".join(url.split("/")[:3])
        cookie, token = session(base)
        data = {**data, "csrf_token": token}
        headers = {"Origin": base, "Cookie": cookie, **(headers or {})}
    status, body, _ = fetch(url, data, headers)
    return status, body


def wait_up(url: str, proc: subprocess.Popen | None = None, timeout: float = 90) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            urllib.request.urlopen(url, timeout=5).read()
            return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up in {timeout}s")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(base URL, release, project): `thresher serve` on a fresh fixture release in its own project folder."""
    project = tmp_path_factory.mktemp("web") / "project"
    rel = build_release(project / "corpus")
    port = free_port()
    proc = subprocess.Popen([*CLI, "serve", str(rel), "--port", str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_up(base + "/", proc)
        yield base, rel, project
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def chromium_or_skip() -> None:
    ci = os.environ.get("CI", "").lower() == "true"
    why = None
    if not CHROMIUM.exists():
        why = f"{CHROMIUM} not found (apt-get install chromium; .ci/run installs it)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            why = "playwright is not installed (pip install -e '.[dev]')"
    if why:
        if ci:
            pytest.fail(f"browser test cannot run in CI: {why}")
        pytest.skip(why)


def test_browser_card_search_document(served, tmp_path: Path) -> None:
    chromium_or_skip()
    from playwright.sync_api import sync_playwright

    base, rel, _ = served
    manifest = json.loads((rel / "manifest.json").read_text())
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            outside: list[str] = []
            page.on("request", lambda r: None if r.url.startswith(base) else outside.append(r.url))
            # the card, with its figures
            page.goto(base + "/")
            assert page.inner_text("#card h1") == "Dataset card: card-fixture"
            card = page.inner_text("#card")
            assert f"documents kept\t{manifest['documents']:,}" in card
            assert "too_short=17" in card and "pii:EMAIL" in card
            imgs = page.eval_on_selector_all("#card img",
                                             "els => els.map(e => [e.getAttribute('src'), e.naturalWidth])")
            assert {src for src, _ in imgs} == {f"/figures/{n}.png" for n in
                                                 ("languages", "funnel", "lengths", "duplicates", "pii", "sources",
                                                  "audit", "measurements")}      # the last two: issue 27
            assert all(w >= 400 for _, w in imgs), imgs       # every figure really loaded and decoded
            page.screenshot(path=str(tmp_path / "card.png"))
            # search
            page.click("nav >> text=Search")
            page.fill("input[name=q]", "human rights")
            page.click("button:has-text('Search')")
            page.wait_for_selector("#result-count")
            assert page.inner_text("#result-count") == "1 result for “human rights”." or \
                page.inner_text("#result-count").startswith("1 result for")
            assert page.inner_text(".results .doc-link") == "udhr-eng"
            assert "Universal Declaration of Human Rights" in page.inner_text(".results .snippet")
            page.screenshot(path=str(tmp_path / "search.png"))
            # the document page: provenance, annotations, text
            page.click(".results .doc-link")
            page.wait_for_selector("#provenance")
            assert page.url == base + "/doc/udhr-eng"
            assert page.inner_text("#status").startswith("Kept in this release.")
            prov = page.inner_text("#provenance")
            assert "multilingual.jsonl" in prov and "gold_language" in prov
            assert '"language": "eng"' in page.inner_text(".meta-json")
            assert page.inner_text("#text").startswith("Universal Declaration of Human Rights")
            shot = tmp_path / "document.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
            # an excluded document says why
            page.goto(base + "/doc/lingua-en-short")
            assert page.inner_text("#status").startswith("Excluded")
            why = page.inner_text("#why")
            assert "length_filter" in why and "too_short" in why and "52" in why and "200" in why
            # am I in it? (a form POST from the page itself passes the same-origin check)
            page.click("nav >> text=Am I in it?")
            page.fill("input[name=domain]", "003338.cn")
            page.click("button:has-text('Look up')")
            page.wait_for_selector("#lookup-result")
            assert page.inner_text("#lookup-result h2") == "Found 1 document"
            assert outside == [], f"the pages loaded something from elsewhere: {outside}"
        finally:
            browser.close()
    os.environ.get("THRESHER_SCREENSHOTS") and _keep(tmp_path, Path(os.environ["THRESHER_SCREENSHOTS"]))


def _keep(src: Path, dst: Path) -> None:
    """Copy the screenshots somewhere a person can look at them (THRESHER_SCREENSHOTS=DIR)."""
    dst.mkdir(parents=True, exist_ok=True)
    for f in src.glob("*.png"):
        (dst / f.name).write_bytes(f.read_bytes())


def test_error_pages(served) -> None:
    base, _, _ = served
    for path, code, text in [("/doc/no-such-id", 404, "no document with id &#39;no-such-id&#39;"),
                             ("/nowhere", 404, "Not found"),
                             ("/figures/../manifest.json", 404, "Not found"),
                             ("/search?q=%20", 400, "the search query is empty"),
                             ("/search?q=" + "a" * 600, 400, "the limit is 500"),
                             ("/search?q=x&k=zero", 400, "k must be a whole number")]:
        status, body = get(base + path)
        assert status == code, path
        assert text in body, path
        assert "Traceback" not in body and 'File "' not in body
    status, body = get(base + "/lookup", {"text": "too short"})
    assert status == 400 and "text: a snippet must have at least 20 characters" in body
    status, body = get(base + "/remove", {"matcher": "nonsense", "value": "x"})
    assert status == 400 and "unknown kind of request" in body
    status, body = get(base + "/remove", {"matcher": "url", "value": "not a url"})
    assert status == 400 and "give a full URL" in body
    status, body = get(base + "/remove", {"matcher": "domain", "value": "iana.org"}, {"Origin": "http://evil.example"})
    assert status == 403 and "only be sent from this site" in body


def test_lookup_and_removal_request(served) -> None:
    from thresher.governance import Ledger

    base, rel, project = served
    status, body = get(base + "/lookup", {"domain": "003338.cn"})
    assert status == 200 and "Found 1 document" in body
    doc_id = body.split('<a href="/doc/')[1].split('"')[0]
    assert "removal request covers" not in get(base + f"/doc/{doc_id}")[1]
    status, body = get(base + "/remove", {"matcher": "domain", "value": "003338.cn"})
    assert status == 200 and "Request <code>req-00001</code> filed" in body and "pending" in body
    reqs = Ledger(project).list()
    assert [(r["id"], r["matcher"], r["value"], r["status"]) for r in reqs] == [("req-00001", "domain", "003338.cn",
                                                                                 "pending")]
    # honoured at once: the document page hides the text, lookup says it is already requested
    status, body = get(base + f"/doc/{doc_id}")
    assert status == 200 and "A removal request covers this document (req-00001)" in body and 'id="text"' not in body
    assert "already covered by a filed removal request" in get(base + "/lookup", {"domain": "003338.cn"})[1]


class ThreadServer:
    """uvicorn in a thread, for an app built in this process (to swap pieces out)."""

    def __init__(self, app) -> None:
        import uvicorn

        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="critical"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        base = f"http://127.0.0.1:{self.port}"
        wait_up(base + "/static/style.css")
        return base

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def test_bridge_imports_governance_directly() -> None:
    """No "not enabled" fallback: the bridge holds governance itself, and its redactor is governance's."""
    from thresher import errors, governance
    from thresher.governance.redact import redact
    from thresher.web import bridge

    assert bridge.governance is governance and bridge.redactor() is redact
    assert not hasattr(bridge, "NotEnabled") and not hasattr(errors, "NotEnabled")
    assert bridge.matchers() == tuple(governance.MATCHERS)


def test_unexpected_error_is_a_plain_500(served, monkeypatch) -> None:
    from thresher.web import bridge, create_app

    _, rel, _ = served

    def broken(*a, **k):
        raise RuntimeError("secret internals")
    monkeypatch.setattr(bridge, "search", broken)
    with ThreadServer(create_app(rel, build_missing=False)) as base:
        status, body = get(base + "/search?q=human")
    assert status == 500 and "Server error" in body
    assert "secret internals" not in body and "Traceback" not in body and "RuntimeError" not in body
