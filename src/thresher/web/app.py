"""Pages of ``thresher serve``: the card with its figures, search with redacted snippets, a document's
provenance and ``why``, "am I in it?", and a removal-request form that files into the ledger.

Server-rendered Jinja2 templates, one local stylesheet, a Content-Security-Policy that lets the page
load nothing from elsewhere. User errors are 400 pages, unknown ids 404 pages; anything unexpected is
logged here and shown as a plain 500 page, never as a stack trace.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import time
from collections import deque
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import anyio

from markdown_it import MarkdownIt
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import ThresherError
from ..public import public_value
from ..release import Release
from . import bridge

log = logging.getLogger("thresher.web")
HERE = Path(str(files("thresher.web")))
FIGURE = re.compile(r"[a-z0-9_\-]+\.png")
MAX_QUERY = 500          # characters of a search query
MAX_VALUE = 10_000       # characters of a lookup / removal value (a text snippet may be long)
MAX_K = 50
PREVIEW_CHARS = 3_000
LOOKUP_FIELDS = ("url", "url_prefix", "domain", "email", "text")
CSP = ("default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")


class SecurityHeaders:
    """Every response: nothing may be loaded from outside this server, no referrer leaks to sources.
    (same-origin, not no-referrer: under no-referrer browsers send `Origin: null` on the site's own form
    posts, which the CSRF guard refuses.)"""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] += [(b"content-security-policy", CSP.encode()),
                                       (b"x-content-type-options", b"nosniff"),
                                       (b"referrer-policy", b"same-origin")]
            await send(message)
        await self.app(scope, receive, wrapped if scope["type"] == "http" else send)


SESSION_COOKIE = "thresher_session"
MAX_FORM_BYTES = 64 * 1024          # a form body: a text snippet and a few short fields
RATE_POSTS = 20                     # form posts per client per window
RATE_WINDOW_S = 60.0
SEARCH_BUDGET_S = 5.0               # seconds one search may run (in a worker thread)
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


class Guard:
    """Who may post a form: a page this server rendered, in the same browser session, on a host name
    the server answers to. A request in someone else's name would come from another site (a foreign
    ``Origin``, or ``null`` from a sandboxed frame or a local file), a script without the session's
    token, or a DNS-rebinding page (its ``Host`` is the attacker's name). Also bounds form size and rate."""

    def __init__(self, hosts: tuple[str, ...]):
        self.hosts = {h.strip("[]").lower() for h in hosts}
        self.secret = secrets.token_bytes(32)
        self.posts: dict[str, deque] = {}

    def token(self, session: str) -> str:
        return hmac.new(self.secret, session.encode(), hashlib.sha256).hexdigest()

    def host_ok(self, request: Request) -> bool:
        host = request.headers.get("host", "")
        name = urlsplit("//" + host).hostname or ""
        return name.lower() in self.hosts

    def check(self, request: Request, form: dict[str, str]) -> None:
        if not self.host_ok(request):
            raise HTTPException(403, "this server does not answer to that host name")
        origin = request.headers.get("origin")
        if not origin or origin == "null" or urlsplit(origin).netloc.lower() != request.headers.get("host", "").lower():
            raise HTTPException(403, "this form can only be sent from this site's own pages")
        session = request.cookies.get(SESSION_COOKIE, "")
        token = form.get("csrf_token", "")
        if not session or not token or not hmac.compare_digest(token, self.token(session)):
            raise HTTPException(403, "the form's session token is missing or stale: reload the page and send it again")
        client = request.client.host if request.client else "?"
        now = time.monotonic()
        q = self.posts.setdefault(client, deque())
        while q and q[0] < now - RATE_WINDOW_S:
            q.popleft()
        if len(q) >= RATE_POSTS:
            raise HTTPException(429, "too many forms sent from this address; wait a minute")
        q.append(now)


async def read_form(request: Request) -> dict[str, str]:
    """The fields of a URL-encoded form (no uploads, no multipart), at most ``MAX_FORM_BYTES``."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        raise HTTPException(415, "send the form's fields only (application/x-www-form-urlencoded), no files")
    if int(request.headers.get("content-length") or 0) > MAX_FORM_BYTES:
        raise HTTPException(413, f"the form is larger than {MAX_FORM_BYTES // 1024} KiB")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise HTTPException(413, f"the form is larger than {MAX_FORM_BYTES // 1024} KiB")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(400, "the form is not valid UTF-8 URL-encoded fields") from None
    return {k: v for k, v in pairs}


def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable("table")   # raw HTML in the card is escaped


def card_html(card_md: str) -> tuple[str, str]:
    """(YAML header, body HTML) of a card; figure links point at ``/figures/``."""
    header = ""
    m = re.match(r"^---\n(.*?)\n---\n", card_md, re.S)
    if m:
        header, card_md = m.group(1), card_md[m.end():]
    md = _markdown()
    tokens = md.parse(card_md)
    for t in tokens:
        for c in t.children or []:
            if c.type == "image" and FIGURE.fullmatch(str(c.attrGet("src") or "")):
                c.attrSet("src", f"/figures/{c.attrGet('src')}")
    html = md.renderer.render(tokens, md.options, {})
    # table alignment comes as inline styles, which the CSP (style-src 'self') rightly blocks
    for side in ("right", "center", "left"):
        html = html.replace(f' style="text-align:{side}"', f' class="al-{side}"')
    return header, html


class Site:
    """The app's state: one release, its governance project, the templates."""

    def __init__(self, release: Path, hosts: tuple[str, ...] = LOCAL_HOSTS):
        self.release = release
        self.project = bridge.project_dir(release)
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.guard = Guard(hosts)

    def page(self, request: Request, name: str, status: int = 200, **ctx: Any) -> Response:
        rel = Release(self.release)
        m = rel.manifest
        session = request.cookies.get(SESSION_COOKIE) or secrets.token_urlsafe(24)
        base = {"release_name": m.get("name") or self.release.name, "documents": m.get("documents", 0),
                "root": m.get("merkle", {}).get("root", ""), "version": m.get("version", 1),
                "csrf_token": self.guard.token(session)}
        resp = self.templates.TemplateResponse(request, name, {**base, **ctx}, status_code=status)
        if request.cookies.get(SESSION_COOKIE) != session:
            resp.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="strict", path="/")
        return resp

    # --- pages ------------------------------------------------------------------------------------
    async def card(self, request: Request) -> Response:
        path = self.release / "card" / "README.md"
        if not path.is_file():
            from ..card import write_card

            write_card(self.release)
        header, body = card_html(path.read_text(encoding="utf-8"))
        return self.page(request, "card.html", header=header, body=body)

    async def figure(self, request: Request) -> Response:
        name = request.path_params["name"]
        path = self.release / "card" / name
        if not FIGURE.fullmatch(name) or not path.is_file():
            raise HTTPException(404, f"no figure '{name}' in this release's card")
        return FileResponse(path, media_type="image/png")

    async def search(self, request: Request) -> Response:
        q = request.query_params.get("q")
        k_raw = request.query_params.get("k", "10")
        if not k_raw.isdigit() or not 1 <= int(k_raw) <= MAX_K:
            raise HTTPException(400, f"k must be a whole number from 1 to {MAX_K}, not '{k_raw[:20]}'")
        if q is None:
            return self.page(request, "search.html", q="", k=int(k_raw), results=None)
        q = q.strip()
        if not q:
            raise HTTPException(400, "the search query is empty: type one or more words")
        if len(q) > MAX_QUERY:
            raise HTTPException(400, f"the search query is {len(q):,} characters long; the limit is {MAX_QUERY}")
        bridge.ensure_index(self.release)
        # in a worker thread, with a time budget: one expensive query never stalls the other clients
        results = await anyio.to_thread.run_sync(lambda: bridge.search(self.release, q, int(k_raw), SEARCH_BUDGET_S))
        return self.page(request, "search.html", q=q, k=int(k_raw), results=results)

    async def document(self, request: Request) -> Response:
        doc_id = request.path_params["doc_id"]
        rel = Release(self.release)
        try:
            why = rel.why(doc_id)
        except ThresherError:
            raise HTTPException(404, f"no document with id '{doc_id[:200]}' in this release "
                                     "(kept or excluded)") from None
        pending = bridge.pending_removal(self.release, doc_id)
        redact = bridge.redactor()
        preview = None
        if why["status"] == "kept" and not pending:
            found = rel.find(doc_id)
            text = found[1]["text"] if found else ""
            preview = redact(text[:PREVIEW_CHARS]) + (" …" if len(text) > PREVIEW_CHARS else "")
        why["source"] = public_value(why["source"])      # what a page shows passes the publishing redaction
        url = next((why["source"].get(k) for k in ("url", "uri") if isinstance(why["source"].get(k), str)), None)
        return self.page(request, "doc.html", why=why, pending=pending, preview=preview, url=url)

    async def lookup(self, request: Request) -> Response:
        if request.method == "GET":
            return self.page(request, "lookup.html", values={}, result=None)
        form = await read_form(request)
        self.guard.check(request, form)
        values = {f: str(form.get(f) or "").strip() for f in LOOKUP_FIELDS}
        given = {f: v for f, v in values.items() if v}
        if not given:
            raise HTTPException(400, "give a URL, a domain, an e-mail address or a piece of text to look up")
        if any(len(v) > MAX_VALUE for v in given.values()):
            raise HTTPException(400, f"a value is longer than {MAX_VALUE:,} characters")
        result = await anyio.to_thread.run_sync(lambda: bridge.lookup(self.release, **given))
        return self.page(request, "lookup.html", values=values, result=result)

    async def remove(self, request: Request) -> Response:
        matchers = bridge.matchers()
        if request.method == "GET":
            pre = {k: request.query_params.get(k, "") for k in ("matcher", "value")}
            return self.page(request, "remove.html", matchers=matchers, pre=pre, filed=None)
        form = await read_form(request)
        self.guard.check(request, form)
        matcher = str(form.get("matcher") or "")
        value = str(form.get("value") or "").strip()
        near = str(form.get("near_duplicates") or "") in ("1", "on", "true")
        reason = str(form.get("reason") or "").strip()
        contact = str(form.get("contact") or "").strip() or None
        if len(reason) > MAX_QUERY * 4 or (contact and len(contact) > 254):
            raise HTTPException(400, "the reason or the contact is too long")
        if matcher not in matchers:
            raise HTTPException(400, f"unknown kind of request '{matcher[:40]}' (known: {', '.join(matchers)})")
        if not value:
            raise HTTPException(400, "say what should be removed: the value is empty")
        if len(value) > MAX_VALUE:
            raise HTTPException(400, f"the value is longer than {MAX_VALUE:,} characters")
        rid = await anyio.to_thread.run_sync(
            lambda: bridge.file_request(self.project, matcher, value, near, reason=reason, contact=contact))
        log.info("removal request %s filed (%s), pending", rid, matcher)
        shown = value if matcher not in ("email", "account") else "(stored only as a salted hash)"
        return self.page(request, "remove.html", matchers=matchers, pre={}, filed={
            "id": rid, "matcher": matcher, "value": shown[:500], "near_duplicates": near, "reason": reason,
            "contact": bool(contact), "project": str(self.project)})

    # --- errors -----------------------------------------------------------------------------------
    async def http_error(self, request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        detail = getattr(exc, "detail", "") or ""
        title = {400: "Bad request", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
                 413: "Too large", 415: "Unsupported form", 429: "Too many requests"}.get(status, "Error")
        return self.page(request, "error.html", status=status, title=title, detail=detail)

    async def user_error(self, request: Request, exc: Exception) -> Response:
        # a ThresherError a page did not catch is still the user's input (a bad URL, a short snippet ...);
        # its message names CLI flags (--text), which read as field names on a web page
        detail = re.sub(r"(?<![\w-])--([a-z][a-z-]*)", lambda m: m.group(1).replace("-", " "), str(exc))
        return self.page(request, "error.html", status=400, title="Bad request", detail=detail)

    async def server_error(self, request: Request, exc: Exception) -> Response:
        log.exception("error serving %s", request.url.path, exc_info=exc)
        try:
            return self.page(request, "error.html", status=500, title="Server error",
                             detail="Something went wrong on our side; it has been logged. Try again later.")
        except Exception:   # the release itself may be unreadable: plain text, still no stack trace
            return Response("Server error: something went wrong on our side; it has been logged.", 500,
                            media_type="text/plain")


def create_app(release: str | Path, build_missing: bool = True, hosts: tuple[str, ...] = LOCAL_HOSTS) -> Starlette:
    """The ASGI app for one release. ``build_missing`` writes the card and search index if absent;
    ``hosts`` are the host names the server answers forms on (DNS rebinding: never a foreign one)."""
    path = Path(release)
    Release(path)   # a clear ReleaseError now, not a 500 on the first page
    site = Site(path, hosts)
    if build_missing:
        if not (path / "card" / "README.md").is_file():
            from ..card import write_card

            write_card(path)
        bridge.ensure_index(path)
    routes = [
        Route("/", site.card),
        Route("/figures/{name}", site.figure),
        Route("/search", site.search),
        Route("/doc/{doc_id:path}", site.document),
        Route("/lookup", site.lookup, methods=["GET", "POST"]),
        Route("/remove", site.remove, methods=["GET", "POST"]),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    handlers: dict[Any, Any] = {HTTPException: site.http_error, ThresherError: site.user_error,
                                Exception: site.server_error}
    return Starlette(routes=routes, exception_handlers=handlers, middleware=[Middleware(SecurityHeaders)])
