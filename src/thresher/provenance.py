"""Where a document came from, as the matchers and the release's source order read it: its URL, its
host, the code repositories it names (``source`` fields of any reader), normalised one way."""
from __future__ import annotations

import re
from typing import Any, Iterable
from urllib.parse import urlsplit, urlunsplit

URL_KEYS = ("url", "uri", "warc_url", "link")
REPO_KEYS = ("repo", "repository", "repo_name", "repo_url", "max_stars_repo_name")
DEFAULT_PORTS = {"http": 80, "https": 443}


def norm_url(url: str) -> str:
    """Lower-case scheme and host, drop the default port and the fragment, empty path -> '/'."""
    u = urlsplit(url.strip())
    scheme = u.scheme.lower()
    host = (u.hostname or "").rstrip(".")
    netloc = host
    if u.port and DEFAULT_PORTS.get(scheme) != u.port:
        netloc = f"{host}:{u.port}"
    path = u.path or ("/" if netloc else "")
    return urlunsplit((scheme, netloc, path, u.query, ""))


def url_host(url: str) -> str:
    try:
        return (urlsplit(url.strip()).hostname or "").rstrip(".")
    except ValueError:
        return ""


def norm_repo(repo: str) -> str:
    r = repo.strip().lower()
    r = re.sub(r"^(?:git\+)?(?:https?|ssh|git)://", "", r)
    r = re.sub(r"^git@([^:]+):", r"\1/", r)
    r = r.removesuffix("/").removesuffix(".git")
    parts = [p for p in r.split("/") if p]
    if len(parts) >= 3 and "." in parts[0]:       # github.com/owner/name -> owner/name
        parts = parts[1:]
    return "/".join(parts[:2])


def source_fields(source: dict[str, Any], keys: Iterable[str]) -> list[str]:
    fields = source.get("fields") if isinstance(source.get("fields"), dict) else {}
    out = []
    for k in keys:
        for d in (source, fields):
            v = d.get(k)
            if isinstance(v, str) and v:
                out.append(v)
    return out


def doc_url(source: dict[str, Any]) -> str | None:
    v = source.get("url")          # the usual case, and the first key source_fields would look at
    if isinstance(v, str) and v:
        return v
    urls = source_fields(source, URL_KEYS)
    return urls[0] if urls else None


def doc_repos(source: dict[str, Any]) -> set[str]:
    repos = {norm_repo(r) for r in source_fields(source, REPO_KEYS)}
    url = doc_url(source)
    if url and url_host(url) in ("github.com", "gitlab.com", "bitbucket.org"):
        repos.add(norm_repo(url))
    return {r for r in repos if r and r.count("/") <= 1}
