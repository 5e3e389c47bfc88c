"""The governance ledger of a project: an append-only, hash-chained JSON Lines log of removal requests
and of the forget runs that applied them.

A *project* is the folder that holds a pipeline's releases (the parent of ``output.path``); the ledger
lives in ``PROJECT/governance/ledger.jsonl``. Each line is one event with ``seq``, ``prev`` (the hash
of the line before) and ``hash`` (sha256 of the canonical JSON of the line without ``hash``), so an
edited, removed or reordered line breaks the chain at a line the check can name. Status is derived
from the events, never rewritten: a request is *pending* until an ``applied`` event names it.

E-mail addresses and account handles are never written: only ``sha256(salt || value)`` is, with a
per-project random salt in ``PROJECT/governance/salt`` (keep that file private; publish the ledger).
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import secrets
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import orjson

from ..errors import InputError, ReleaseError
from .matchers import MATCHERS, normalize_value

GOV_DIR = "governance"
LEDGER = "ledger.jsonl"
SALT = "salt"
GENESIS = "0" * 64
HASHED = ("email", "account")          # matchers whose values are stored only as salted hashes


def _canonical(entry: dict[str, Any]) -> bytes:
    return orjson.dumps({k: v for k, v in entry.items() if k != "hash"}, option=orjson.OPT_SORT_KEYS)


def entry_hash(entry: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(entry)).hexdigest()


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass
class Request:
    """One removal request as the ledger knows it (``value`` is a salted hash for e-mail/account)."""

    id: str
    matcher: str
    value: str
    near_duplicates: bool
    scope: str
    received_at: str
    hash: str
    status: str = "pending"
    applied_to: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "matcher": self.matcher, "value": self.value,
                "near_duplicates": self.near_duplicates, "scope": self.scope,
                "received_at": self.received_at, "status": self.status, "hash": self.hash,
                "applied_to": self.applied_to}


def governance_dir(project_dir: str | Path) -> Path:
    return Path(project_dir) / GOV_DIR


def has_ledger(project_dir: str | Path) -> bool:
    return (governance_dir(project_dir) / LEDGER).is_file()


class Ledger:
    """The removal-request log of one project folder."""

    def __init__(self, project_dir: str | Path):
        self.project = Path(project_dir)
        if self.project.is_file() or (self.project / "manifest.json").is_file():
            raise InputError(f"{self.project}: give the project folder (the parent of a release), not a release")
        self.dir = governance_dir(self.project)
        self.path = self.dir / LEDGER
        self._salt: bytes | None = None

    # --- salt and hashing -------------------------------------------------------------------------
    @property
    def salt(self) -> bytes:
        if self._salt is None:
            self._salt = self._read_salt()
        return self._salt

    def _read_salt(self) -> bytes:
        p = self.dir / SALT
        if not p.exists():
            self.dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
        return bytes.fromhex(p.read_text().strip())

    def hash_value(self, value: str) -> str:
        """The salted hash an e-mail or handle is stored (and compared) as."""
        return "salted-sha256:" + hashlib.sha256(self.salt + value.encode("utf-8")).hexdigest()

    # --- reading ----------------------------------------------------------------------------------
    def entries(self, check: bool = True) -> list[dict[str, Any]]:
        """Every event in order; with ``check`` the hash chain is verified first."""
        if not self.path.exists():
            return []
        out = []
        for n, line in enumerate(self.path.read_bytes().splitlines(), 1):
            if not line.strip():
                continue
            try:
                out.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                raise ReleaseError(f"{self.path}: line {n} is not valid JSON (the ledger was edited)") from None
        if check:
            self._check(out)
        return out

    def _check(self, entries: list[dict[str, Any]]) -> None:
        prev = GENESIS
        for n, e in enumerate(entries, 1):
            what = f"{self.path}: line {n} ({e.get('type', '?')} {e.get('id', e.get('seq', '?'))})"
            if e.get("seq") != n:
                raise ReleaseError(f"{what}: sequence number {e.get('seq')} != {n} (a line was removed or reordered)")
            if e.get("prev") != prev:
                raise ReleaseError(f"{what}: does not chain to the line before (a line was removed or edited)")
            if e.get("hash") != entry_hash(e):
                raise ReleaseError(f"{what}: hash mismatch (the entry was edited)")
            prev = e["hash"]

    def verify(self) -> dict[str, Any]:
        """Check the chain; returns ``{entries, head}`` or raises ReleaseError naming the bad line."""
        e = self.entries(check=True)
        return {"entries": len(e), "head": e[-1]["hash"] if e else GENESIS}

    @property
    def head(self) -> str:
        e = self.entries(check=False)
        return e[-1]["hash"] if e else GENESIS

    def requests(self) -> list[Request]:
        reqs: dict[str, Request] = {}
        for e in self.entries():
            if e["type"] == "request":
                reqs[e["id"]] = Request(e["id"], e["matcher"], e["value"], bool(e.get("near_duplicates")),
                                        e.get("scope", "*"), e["received_at"], e["hash"])
            elif e["type"] == "applied":
                for rid in e["requests"]:
                    if rid in reqs:
                        reqs[rid].status = "applied"
                        reqs[rid].applied_to.extend(v for v in e.get("versions", []) if v not in reqs[rid].applied_to)
        return list(reqs.values())

    def list(self) -> list[dict[str, Any]]:
        """Every request as a dict (id, matcher, value or its salted hash, status, received_at ...)."""
        return [r.to_json() for r in self.requests()]

    def get(self, request_id: str) -> Request:
        for r in self.requests():
            if r.id == request_id:
                return r
        raise InputError(f"{self.path}: no request '{request_id}'")

    # --- writing ----------------------------------------------------------------------------------
    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / ".lock", "w") as lk:
            fcntl.flock(lk, fcntl.LOCK_EX)     # the web app and the CLI may append at the same time
            try:
                yield
            finally:
                fcntl.flock(lk, fcntl.LOCK_UN)

    def _append(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._locked():
            entries = self.entries(check=True)
            entry = {"seq": len(entries) + 1, "prev": entries[-1]["hash"] if entries else GENESIS, **body}
            if "id" in entry and entry["id"] is None:
                entry["id"] = f"req-{entry['seq']:05d}"
            entry["hash"] = entry_hash(entry)
            with open(self.path, "ab") as f:
                f.write(orjson.dumps(entry, option=orjson.OPT_SORT_KEYS) + b"\n")
                f.flush()
                os.fsync(f.fileno())
        return entry

    def add(self, matcher: str, value: str, near_duplicates: bool = False, scope: str = "*",
            received_at: str | None = None) -> str:
        """File a removal request; returns its id (``req-00001`` ...). E-mails/handles are hashed here."""
        matcher = matcher.replace("-", "_")
        if matcher not in MATCHERS:
            raise InputError(f"unknown matcher '{matcher}' (known: {', '.join(MATCHERS)})")
        value = normalize_value(matcher, value)
        if matcher in HASHED:
            value = self.hash_value(value)
        entry = self._append({"type": "request", "id": None, "matcher": matcher, "value": value,
                              "near_duplicates": bool(near_duplicates), "scope": scope,
                              "received_at": received_at or now_iso()})
        return entry["id"]

    def record_applied(self, request_ids: list[str], versions: list[str], receipts: list[str]) -> str:
        """Append the event saying a forget run applied ``request_ids``; returns its hash."""
        return self._append({"type": "applied", "requests": sorted(request_ids), "versions": versions,
                             "receipts": receipts, "at": now_iso()})["hash"]
