"""Matchers: which documents a removal request covers.

A request is (matcher, value). Values are normalised when the request is filed, and documents are
normalised the same way when they are matched, so ``HTTPS://IANA.org/x#top`` and ``https://iana.org/x``
are one URL. Matchers look at provenance (``source``: url/uri, repo, account fields) or at the text:

- ``url`` / ``url_prefix`` / ``domain`` (host or any subdomain) — the document's ``source`` url or uri;
- ``repo`` (``owner/name``) and ``account`` (a handle) — code provenance fields;
- ``email`` — any address in the text or the source fields, compared as a salted hash;
- ``text`` — a snippet found in the text, case- and whitespace-insensitively;
- ``content_hash`` — sha256 of the text as released (the Merkle leaf's hash).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import urlsplit

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InputError
from ..provenance import doc_repos, doc_url, norm_repo, norm_url, source_fields as _get, url_host  # noqa: F401

if TYPE_CHECKING:
    from .ledger import Request

MATCHERS = ("url", "url_prefix", "domain", "repo", "account", "email", "text", "content_hash")
TEXT_MATCHERS = ("email", "text", "content_hash")
MIN_SNIPPET_CHARS = 20      # a shorter snippet ("the") would remove half a corpus by accident

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
ACCOUNT_KEYS = ("account", "author", "user", "username", "owner", "login", "committer", "handle")
_SPACE = r"[\t-\r\x1c-\x1f\x85\p{Z}]+"      # what str.split() splits on, in RE2 syntax


def norm_texts(texts: pa.Array) -> pa.Array:
    """Lower-case, every whitespace run -> one space (vectorised; the same for snippets and documents)."""
    return pc.replace_substring_regex(pc.utf8_lower(texts), pattern=_SPACE, replacement=" ")


def norm_text(text: str) -> str:
    return norm_texts(pa.array([text], pa.string()))[0].as_py().strip(" ")


def norm_handle(handle: str) -> str:
    return handle.strip().lower().removeprefix("@")


def normalize_value(matcher: str, value: str) -> str:
    """The canonical form a request value is stored and compared in; bad values are InputErrors."""
    value = (value or "").strip()
    if not value:
        raise InputError(f"--{matcher.replace('_', '-')}: empty value")
    if matcher in ("url", "url_prefix"):
        if "://" not in value:
            raise InputError(f"--{matcher.replace('_', '-')} '{value}': give a full URL with its scheme (https://...)")
        try:
            return norm_url(value)
        except ValueError as e:           # a port out of range, an unclosed IPv6 bracket ...
            raise InputError(f"--{matcher.replace('_', '-')} '{value}': not a valid URL ({e})") from None
    if matcher == "domain":
        host = url_host(value) if "://" in value else value.lower().split("/")[0].split(":")[0]
        if "[" in host or "]" in host:
            raise InputError(f"--domain '{value}': not a domain name (like example.org)")
        if "." not in host.strip("."):
            raise InputError(f"--domain '{value}': not a domain name (like example.org)")
        return host.strip(".")
    if matcher == "repo":
        r = norm_repo(value)
        if not r or r.count("/") > 1:
            raise InputError(f"--repo '{value}': give owner/name, the repository URL, or a bare name")
        return r
    if matcher == "account":
        return norm_handle(value)
    if matcher == "email":
        v = value.lower()
        if not EMAIL_RE.fullmatch(v):
            raise InputError(f"--email '{value}': not an e-mail address")
        return v
    if matcher == "text":
        t = norm_text(value)
        if len(t) < MIN_SNIPPET_CHARS:
            raise InputError(f"--text: a snippet must have at least {MIN_SNIPPET_CHARS} characters")
        return t
    if matcher == "content_hash":
        h = value.lower().removeprefix("sha256:")
        if not re.fullmatch(r"[0-9a-f]{64}", h):
            raise InputError(f"--content-hash '{value}': not a sha256 hex digest")
        return h
    raise InputError(f"unknown matcher '{matcher}' (known: {', '.join(MATCHERS)})")


# --- what a document offers to the matchers ---------------------------------------------------------
def repo_matches(value: str, repos: set[str]) -> bool:
    """``owner/name`` matches that repository, and a repository known only by its name (local code
    corpora name repositories after their folder or archive; removal favours recall); a bare ``name``
    matches every owner's repository of that name."""
    if value in repos:
        return True
    if "/" in value:
        return value.split("/")[1] in {r for r in repos if "/" not in r}
    return value in {r.split("/")[-1] for r in repos}


def doc_accounts(source: dict[str, Any]) -> set[str]:
    acc = {norm_handle(a) for a in _get(source, ACCOUNT_KEYS)}
    acc.update(r.split("/")[0] for r in doc_repos(source) if "/" in r)
    return acc


@dataclass
class Compiled:
    """A set of requests compiled for fast batch matching. ``hasher`` salts e-mails and handles."""

    requests: list["Request"]
    hasher: Callable[[str], str]

    def __post_init__(self) -> None:
        by: dict[str, list[tuple[str, str]]] = {m: [] for m in MATCHERS}
        for r in self.requests:
            by[r.matcher].append((r.id, r.value))
        self.by = by
        self.emails: dict[str, list[str]] = {}
        for i, v in by["email"]:
            self.emails.setdefault(v, []).append(i)
        self.accounts: dict[str, list[str]] = {}
        for i, v in by["account"]:
            self.accounts.setdefault(v, []).append(i)
        self.hashes: dict[str, list[str]] = {}
        for i, v in by["content_hash"]:
            self.hashes.setdefault(v, []).append(i)

    @property
    def needs_text(self) -> bool:
        return any(self.by[m] for m in TEXT_MATCHERS)

    @property
    def needs_source(self) -> bool:
        return any(self.by[m] for m in ("url", "url_prefix", "domain", "repo", "account", "email"))

    def __bool__(self) -> bool:
        return bool(self.requests)

    def _candidates(self, n: int, text: pa.Array | None, source: pa.Array | None) -> np.ndarray:
        """Rows worth a (slow) per-row look: a vectorised substring pre-filter on the raw columns."""
        by = self.by
        if by["repo"] or by["account"] or by["content_hash"]:
            return np.ones(n, dtype=bool)
        cand = np.zeros(n, dtype=bool)
        for m in ("url", "url_prefix", "domain"):
            for _, v in by[m]:
                if m == "domain":
                    host, path = v, ""
                else:
                    u = urlsplit(v)
                    host, path = u.hostname or "", (u.path if len(u.path) > 1 else "")
                mask = pc.match_substring(source, host, ignore_case=True) if host else None
                if path:
                    pm = pc.match_substring(source, path)
                    mask = pm if mask is None else pc.and_(mask, pm)
                if mask is None:
                    return np.ones(n, dtype=bool)
                cand |= mask.fill_null(False).to_numpy(zero_copy_only=False)
        if by["email"]:
            for col in (text, source):
                if col is not None:
                    cand |= pc.match_substring_regex(col, EMAIL_RE.pattern).fill_null(False).to_numpy(zero_copy_only=False)
        return cand

    def match_batch(self, text: pa.Array | None, source: pa.Array | None, n: int) -> dict[int, list[str]]:
        """Row -> ids of the requests that cover it, for one batch of documents."""
        out: dict[int, set[str]] = {}
        if self.by["text"] and text is not None:
            for rid, v in self.by["text"]:
                # normalising every text is slow (a Unicode regex over the corpus): first keep the rows
                # holding the snippet's longest word, case-insensitively, then normalise only those
                key = max(v.split(" "), key=len)
                rows = np.flatnonzero(pc.match_substring(text, key, ignore_case=True).fill_null(False)
                                      .to_numpy(zero_copy_only=False))
                if not len(rows):
                    continue
                norm = norm_texts(text.take(pa.array(rows)))
                ok = pc.match_substring(norm, v).fill_null(False).to_numpy(zero_copy_only=False)
                for k in rows[ok]:
                    out.setdefault(int(k), set()).add(rid)
        if any(self.by[m] for m in MATCHERS if m != "text"):
            rows = np.flatnonzero(self._candidates(n, text, source))
            if len(rows):
                idx = pa.array(rows)
                texts = text.take(idx).to_pylist() if text is not None else [None] * len(rows)
                srcs = source.take(idx).to_pylist() if source is not None else [None] * len(rows)
                for k, t, s in zip(rows, texts, srcs):
                    m = self.match(t, s)
                    if m:
                        out.setdefault(int(k), set()).update(m)
        return {k: sorted(v) for k, v in out.items()}

    def match(self, text: str | None, source_json: str | None) -> list[str]:
        """Ids of the non-snippet requests that cover one document (``text`` requests: ``match_batch``)."""
        hits: list[str] = []
        by = self.by
        source: dict[str, Any] = orjson.loads(source_json) if source_json and self.needs_source else {}
        if by["url"] or by["url_prefix"] or by["domain"]:
            url = doc_url(source)
            if url:
                try:
                    nu = norm_url(url)
                except ValueError:
                    nu = url
                host = url_host(url)
                hits += [i for i, v in by["url"] if nu == v]
                hits += [i for i, v in by["url_prefix"] if nu.startswith(v)]
                hits += [i for i, v in by["domain"] if host == v or host.endswith("." + v)]
        if by["repo"]:
            repos = doc_repos(source)
            hits += [i for i, v in by["repo"] if repo_matches(v, repos)]
        if self.accounts:
            for a in doc_accounts(source):
                hits += self.accounts.get(self.hasher(a), [])
        if text is not None:
            if self.emails:
                found = set()
                if "@" in text:
                    found.update(m.lower() for m in EMAIL_RE.findall(text))
                if source_json and "@" in source_json:
                    found.update(m.lower() for m in EMAIL_RE.findall(source_json))
                for e in found:
                    hits += self.emails.get(self.hasher(e), [])
            if self.hashes:
                h = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
                hits += self.hashes.get(h, [])
        return sorted(set(hits))
