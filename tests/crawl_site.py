"""A real static documentation site (the libffi manual) served on 127.0.0.1 for crawler tests and the
crawl benchmark, with the files and misbehaviours a polite crawler must handle.

Every request is logged (path, user agent, start and end time, client port) so tests can check what
was fetched, when, and over how many connections. Only 127.0.0.1 is ever bound.
"""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "crawl"

ROBOTS = """User-agent: *
Disallow: /private/
Disallow: /Memory-Usage.html
Crawl-delay: {crawl_delay}
Sitemap: {base}/sitemap.xml

User-agent: GPTBot
Disallow: /

User-agent: CCBot
Disallow: /Closure-Example.html
"""
AI_TXT = """# Spawning AI: what AI datasets may use
User-Agent: *
Disallow: /Thread-Safety.html
Disallow: *.jpg
"""
EXTRA_LINKS = [("terms.html", "Terms of Use"), ("private/secret.html", "Staff only"), ("moved", "Moved page"),
               ("loop-a", "Loop"), ("chain/0", "Long redirect chain"), ("to-private", "Redirect to private"),
               ("slow.html", "A slow page"), ("too-slow.html", "A very slow page"), ("error.html", "Broken page"),
               ("flaky.html", "Flaky page"), ("huge.html", "Huge page"), ("huge-stream.html", "Huge stream"),
               ("manual.pdf", "PDF manual"), ("https://example.org/elsewhere", "Off-site link")]
INJECT = {
    "Multiple-ABIs.html": '<meta name="robots" content="noai, noimageai">',
    "Simple-Example.html": '<link rel="license" href="https://creativecommons.org/licenses/by-sa/4.0/">',
}
FOOTER = {"Type-Example.html": '<p>Text available under <a href="https://creativecommons.org/licenses/by/4.0/">'
                               'CC BY 4.0</a>.</p>'}
HEADERS = {"Complex.html": [("X-Robots-Tag", "noai, noimageai")],
           "Structures.html": [("tdm-reservation", "1"), ("tdm-policy", "{base}/tdm-policy.json")]}
SLOW, TOO_SLOW = 0.5, 3.0
HUGE = 64 << 20


def site_pages() -> dict[str, bytes]:
    """Path -> HTML of every page the site serves with status 200."""
    pages = {}
    for f in sorted((FIXTURES / "libffi").glob("*.html")):
        html = f.read_text(encoding="utf-8")
        if f.name in INJECT:
            html = html.replace("<head>", "<head>\n" + INJECT[f.name], 1)
        if f.name in FOOTER:
            html = html.replace("</body>", FOOTER[f.name] + "\n</body>", 1)
        if f.name == "index.html":
            nav = "\n".join(f'<li><a href="{href}">{text}</a></li>' for href, text in EXTRA_LINKS)
            html = html.replace("</body>", f'<footer><ul>\n{nav}\n</ul></footer>\n</body>', 1)
        pages["/" + f.name] = html.encode()
    for name, path in (("terms.html", "/terms.html"), ("qa.html", "/sitemap-only.html"),
                       ("product.html", "/moved-target.html"), ("forum.html", "/slow.html")):
        pages[path] = (FIXTURES / "extra" / name).read_bytes()
    pages["/private/secret.html"] = b"<html><body>secret</body></html>"
    return pages


class SiteServer:
    def __init__(self, crawl_delay: float = 0.2, extra_links: int = 0, mirrors: int = 0):
        self.crawl_delay = crawl_delay
        self.pages = site_pages()

        self.log: list[dict] = []
        self.hits: dict[str, int] = {}
        self._lock = threading.Lock()
        # the benchmark's site: /bench.html links to N copies of the manual as shipped (/m/K/, links stay
        # inside each copy) and to ``extra_links`` generated pages (a big frontier); the sitemap lists only it
        self.bench = bool(mirrors or extra_links)
        self.mirror = {f.name: f.read_bytes() for f in (FIXTURES / "libffi").glob("*.html")}
        links = "".join(f'<a href="/m/{k}/index.html">copy {k}</a>\n' for k in range(mirrors))
        links += "".join(f'<a href="/gen/{i}.html">page {i}</a>\n' for i in range(extra_links))
        self.pages["/bench.html"] = f"<html><body><h1>Mirrors</h1>\n{links}</body></html>".encode()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):   # quiet
                pass

            def do_GET(self):
                t0 = time.monotonic()
                path = self.path.split("?", 1)[0]
                with server._lock:
                    server.hits[path] = server.hits.get(path, 0) + 1
                    n = server.hits[path]
                status = None
                try:
                    status = server.respond(self, path, n)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True       # the client gave up (a timeout): logged all the same
                finally:
                    with server._lock:
                        server.log.append({"path": path, "start": t0, "end": time.monotonic(), "status": status,
                                           "ua": self.headers.get("User-Agent", ""), "port": self.client_address[1]})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "SiteServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _send(self, h, status: int, body: bytes, ctype: str = "text/html; charset=utf-8",
              headers: list[tuple[str, str]] = ()) -> int:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            h.send_header(k, v.format(base=self.base))
        h.end_headers()
        h.wfile.write(body)
        return status

    def _redirect(self, h, target: str, status: int = 302) -> int:
        h.send_response(status)
        h.send_header("Location", target)
        h.send_header("Content-Length", "0")
        h.end_headers()
        return status

    def respond(self, h, path: str, n: int) -> int:
        if path == "/robots.txt":
            return self._send(h, 200, ROBOTS.format(crawl_delay=self.crawl_delay, base=self.base).encode(), "text/plain")
        if path == "/ai.txt":
            return self._send(h, 200, AI_TXT.encode(), "text/plain")
        if path == "/.well-known/tdmrep.json":
            rules = [{"location": "/Types.html", "tdm-reservation": 1, "tdm-policy": f"{self.base}/tdm-policy.json"},
                     {"location": "/*", "tdm-reservation": 0}]
            return self._send(h, 200, json.dumps(rules).encode(), "application/json")
        if path == "/sitemap.xml":
            urls = ["/index.html", "/Introduction.html", "/sitemap-only.html", "/private/hidden.html"]
            urls = ["/bench.html"] if self.bench else urls
            body = ('<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                    + "".join(f"<url><loc>{self.base}{u}</loc></url>" for u in urls) + "</urlset>")
            return self._send(h, 200, body.encode(), "application/xml")
        if path in ("/", ""):
            return self._redirect(h, "/index.html", 301)
        if path == "/moved":
            return self._redirect(h, "/moved-target.html", 301)
        if path == "/loop-a":
            return self._redirect(h, f"{self.base}/loop-b")
        if path == "/loop-b":
            return self._redirect(h, "/loop-a")
        if path.startswith("/chain/"):
            i = int(path.rsplit("/", 1)[1])
            return self._redirect(h, f"/chain/{i + 1}") if i < 10 else self._send(h, 200, b"<html>end</html>")
        if path == "/to-private":
            return self._redirect(h, "/private/secret.html")
        if path == "/slow.html":
            time.sleep(SLOW)
        if path == "/too-slow.html":
            time.sleep(TOO_SLOW)
            return self._send(h, 200, b"<html>late</html>")
        if path == "/error.html":
            return self._send(h, 500, b"<html>Internal Server Error</html>")
        if path == "/flaky.html" and n == 1:
            return self._send(h, 503, b"<html>try again</html>", headers=[("Retry-After", "0")])
        if path == "/flaky.html":
            return self._send(h, 200, b"<html><body><p>Recovered on the second try.</p></body></html>")
        if path == "/manual.pdf":
            return self._send(h, 200, b"%PDF-1.4\n" + b"0" * 1000, "application/pdf")
        if path in ("/huge.html", "/huge-stream.html"):
            return self._huge(h, path == "/huge.html")
        if path.startswith("/m/") and path.count("/") == 3 and path.rsplit("/", 1)[1] in self.mirror:
            return self._send(h, 200, self.mirror[path.rsplit("/", 1)[1]])
        if path.startswith("/gen/"):
            return self._send(h, 200, f"<html><body><p>generated {path}</p></body></html>".encode())
        if path in self.pages:
            name = path.lstrip("/")
            return self._send(h, 200, self.pages[path], headers=HEADERS.get(name, []))
        return self._send(h, 404, b"<html>not found</html>")

    def _huge(self, h, declared: bool) -> int:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        if declared:
            h.send_header("Content-Length", str(HUGE))
        else:
            h.send_header("Connection", "close")
            h.close_connection = True
        h.end_headers()
        chunk = b"<p>" + b"x" * 65530 + b"</p>"
        try:
            for _ in range(HUGE // len(chunk)):
                h.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        h.close_connection = True
        return 200

    def fetched(self) -> list[str]:
        return [r["path"] for r in self.log]


if __name__ == "__main__":      # serve until killed: python tests/crawl_site.py [mirrors] [extra_links]
    import sys

    with SiteServer(crawl_delay=0.2, mirrors=int(sys.argv[1]) if len(sys.argv) > 1 else 0,
                    extra_links=int(sys.argv[2]) if len(sys.argv) > 2 else 0) as srv:
        print(srv.base, flush=True)
        srv.thread.join()
