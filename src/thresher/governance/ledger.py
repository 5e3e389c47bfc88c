"""The governance ledger of a project: an append-only, hash-chained JSON Lines log of removal requests
and of the forget runs that applied them.

A *project* is the folder that holds a pipeline's releases (the parent of ``output.path``); the ledger
lives in ``PROJECT/governance/ledger.jsonl``. Each line is one event with ``seq``, ``prev`` (the hash
of the line before), ``hash`` (sha256 of the canonical JSON of the line without ``hash`` and
``signature``) and ``signature`` (Ed25519 over the hash, with the custodian's key, ``keys.py``), so an
edited, removed or reordered line breaks the chain at a line the check can name, and a chain rewritten
with its hashes recomputed fails the signatures.

A request's life: ``pending`` when filed (search and lookup hide what it covers at once, nothing is
removed), then a steward's ``decision`` event makes it ``approved``, ``rejected`` or ``withdrawn``; only
approved requests are applied by ``forget`` and by builds, and an ``applied`` event marks them
``applied``. Status is derived from the events, never rewritten. Ids are consecutive
(``req-00001``, ``req-00002`` ...). A request is due (a decision owed) 30 days after it was received.

E-mail addresses, handles and the requester's contact are never written: only
``sha256(salt || value)`` is, with a per-project random salt in ``PROJECT/governance/salt`` (keep that
file and ``custodian.key`` private; publish the ledger and ``custodian.pub``).
"""
from __future__ import annotations

import fcntl
import hashlib
import os
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import orjson

from ..errors import InputError, ReleaseError
from ..paths import is_release
from ..signing import Signer, check_signature, public_key, read_salt
from .matchers import MATCHERS, normalize_value
from .request import Request

GOV_DIR = "governance"
LEDGER = "ledger.jsonl"
GENESIS = "0" * 64
HASHED = ("email", "account")          # matchers whose values are stored only as salted hashes
DUE_DAYS = 30
DECISIONS = {"approve": "approved", "reject": "rejected", "withdraw": "withdrawn"}


def _canonical(entry: dict[str, Any]) -> bytes:
    return orjson.dumps({k: v for k, v in entry.items() if k not in ("hash", "signature")},
                        option=orjson.OPT_SORT_KEYS)


def entry_hash(entry: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(entry)).hexdigest()


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def governance_dir(project_dir: str | Path) -> Path:
    return Path(project_dir) / GOV_DIR


def has_ledger(project_dir: str | Path) -> bool:
    return (governance_dir(project_dir) / LEDGER).is_file()


class Ledger:
    """The removal-request log of one project folder."""

    def __init__(self, project_dir: str | Path):
        self.project = Path(project_dir)
        if self.project.is_file() or is_release(self.project):
            raise InputError(f"{self.project}: give the project folder (the parent of a release), not a release")
        self.dir = governance_dir(self.project)
        self.path = self.dir / LEDGER
        self._salt: bytes | None = None
        self._signer: Signer | None = None

    # --- salt and hashing -------------------------------------------------------------------------
    @property
    def salt(self) -> bytes:
        if self._salt is None:
            self._salt = self._read_salt()
        return self._salt

    def _read_salt(self) -> bytes:
        return read_salt(self.dir)          # created atomically: concurrent first requests all get it

    @property
    def signer(self) -> Signer:
        if self._signer is None:
            self._signer = Signer(self.dir)
        return self._signer

    @property
    def public_key(self) -> str | None:
        return public_key(self.dir)

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

    def _check(self, entries: list[dict[str, Any]], key: str | None = None) -> None:
        prev = GENESIS
        key = key or self.public_key
        for n, e in enumerate(entries, 1):
            what = f"{self.path}: line {n} ({e.get('type', '?')} {e.get('id', e.get('seq', '?'))})"
            if e.get("seq") != n:
                raise ReleaseError(f"{what}: sequence number {e.get('seq')} != {n} (a line was removed or reordered)")
            if e.get("prev") != prev:
                raise ReleaseError(f"{what}: does not chain to the line before (a line was removed or edited)")
            if e.get("hash") != entry_hash(e):
                raise ReleaseError(f"{what}: hash mismatch (the entry was edited)")
            if key is None or not check_signature(key, e["hash"], str(e.get("signature", ""))):
                raise ReleaseError(f"{what}: signature does not verify with the custodian key "
                                   f"(the ledger was rewritten{'' if key else ', or its custodian.pub is missing'})")
            prev = e["hash"]

    def verify(self, key: str | None = None) -> dict[str, Any]:
        """Check the chain and its signatures (with ``key``, the public key a release published, when
        given); returns ``{entries, head}`` or raises ReleaseError naming the bad line."""
        e = self.entries(check=False)
        self._check(e, key)
        return {"entries": len(e), "head": e[-1]["hash"] if e else GENESIS}

    @property
    def head(self) -> str:
        e = self.entries(check=False)
        return e[-1]["hash"] if e else GENESIS

    def requests(self, entries: list[dict[str, Any]] | None = None) -> list[Request]:
        reqs: dict[str, Request] = {}
        for e in self.entries() if entries is None else entries:
            if e["type"] == "request":
                reqs[e["id"]] = Request(e["id"], e["matcher"], e["value"], bool(e.get("near_duplicates")),
                                        e.get("scope", "*"), e["received_at"], e["hash"],
                                        due=e.get("due", ""), reason=e.get("reason", ""), contact=e.get("contact"),
                                        broad=bool(e.get("broad")))
            elif e["type"] == "decision" and e.get("request") in reqs:
                r = reqs[e["request"]]
                r.status, r.decided_by, r.decided_at = e["decision"], e.get("by"), e.get("at")
                r.decisions.append(e["hash"])
            elif e["type"] == "applied":
                for rid in e["requests"]:
                    if rid in reqs:
                        reqs[rid].status = "applied"
                        reqs[rid].applied_to.extend(v for v in e.get("versions", []) if v not in reqs[rid].applied_to)
        return list(reqs.values())

    def list(self, due: bool = False, now: str | None = None) -> list[dict[str, Any]]:
        """Every request as a dict (id, matcher, value or its salted hash, status, due ...); with ``due``
        only the pending ones, soonest due first, each with ``overdue``."""
        reqs = [r.to_json() for r in self.requests()]
        if not due:
            return reqs
        now = now or now_iso()
        out = sorted((r for r in reqs if r["status"] == "pending"), key=lambda r: (r["due"], r["id"]))
        for r in out:
            r["overdue"] = bool(r["due"]) and r["due"] < now
        return out

    def get(self, request_id: str) -> Request:
        for r in self.requests():
            if r.id == request_id:
                return r
        raise InputError(f"{self.path}: no request '{request_id}'")

    # --- writing ----------------------------------------------------------------------------------
    @contextmanager
    def locked(self, name: str = ".lock") -> Iterator[None]:
        """An exclusive lock on ``governance/NAME`` (the ledger's own by default)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / name, "w") as lk:
            fcntl.flock(lk, fcntl.LOCK_EX)     # the web app and the CLI may append at the same time
            try:
                yield
            finally:
                fcntl.flock(lk, fcntl.LOCK_UN)

    def _append(self, body: dict[str, Any], check: Any = None) -> dict[str, Any]:
        signer = self.signer
        with self.locked():
            entries = self.entries(check=True)
            if check is not None:            # a transition is checked against the ledger as it is under the lock
                check(entries)
            entry = {"seq": len(entries) + 1, "prev": entries[-1]["hash"] if entries else GENESIS, **body}
            if "id" in entry and entry["id"] is None:         # consecutive over requests, not over events
                entry["id"] = f"req-{sum(1 for e in entries if e.get('type') == 'request') + 1:05d}"
            entry["hash"] = entry_hash(entry)
            entry["signature"] = signer.sign(entry["hash"])
            with open(self.path, "ab") as f:
                f.write(orjson.dumps(entry, option=orjson.OPT_SORT_KEYS) + b"\n")
                f.flush()
                os.fsync(f.fileno())
        return entry

    def add(self, matcher: str, value: str, near_duplicates: bool = False, scope: str = "*",
            received_at: str | None = None, reason: str = "", contact: str | None = None,
            due_days: int = DUE_DAYS, broad: bool = False, max_documents: int | None = None) -> str:
        """File a removal request (``pending``); returns its id (``req-00001`` ...). E-mails, handles
        and the contact are hashed here. A request broader than ``broad_reason`` allows (a public
        suffix, a bare scheme, more than ``max_documents`` documents) needs ``broad=True``."""
        from .scope import MAX_DOCUMENTS, broad_reason

        matcher = matcher.replace("-", "_")
        if matcher not in MATCHERS:
            raise InputError(f"unknown matcher '{matcher}' (known: {', '.join(MATCHERS)})")
        if due_days < 1:
            raise InputError(f"the due date must be at least a day away, not {due_days} days")
        raw = value
        value = normalize_value(matcher, value)
        if not broad:
            why = broad_reason(self, matcher, raw, value, scope,
                               MAX_DOCUMENTS if max_documents is None else max_documents)
            if why:
                raise InputError(f"this request is broad ({why}); a steward who means it files it with --broad")
        if matcher in HASHED:
            value = self.hash_value(value)
        received = received_at or now_iso()
        due = (datetime.fromisoformat(received.replace("Z", "+00:00")) + timedelta(days=due_days))
        from ..public import redact_string

        entry = self._append({"type": "request", "id": None, "matcher": matcher, "value": value,
                              "near_duplicates": bool(near_duplicates), "scope": scope,
                              "received_at": received, "due": due.isoformat().replace("+00:00", "Z"),
                              "reason": redact_string(reason.strip())[:2000],
                              "contact": self.hash_value(contact.strip().lower()) if contact and contact.strip() else None,
                              "broad": bool(broad)})
        return entry["id"]

    def decide(self, request_id: str, action: str, by: str, note: str = "") -> str:
        """A steward's decision on a pending request: ``approve``, ``reject`` or ``withdraw``; returns
        the new status. Decisions are final (a rejected request is filed anew if need be)."""
        if action not in DECISIONS:
            raise InputError(f"unknown decision '{action}' (known: {', '.join(DECISIONS)})")
        if not by.strip():
            raise InputError("say who decides (--by)")

        def check(entries: list[dict[str, Any]]) -> None:
            r = next((r for r in self.requests(entries) if r.id == request_id), None)
            if r is None:
                raise InputError(f"{self.path}: no request '{request_id}'")
            if r.status != "pending":
                raise InputError(f"{request_id} is {r.status}, not pending: it cannot be {DECISIONS[action]}")

        from ..public import redact_string

        self._append({"type": "decision", "request": request_id, "decision": DECISIONS[action], "by": by.strip(),
                      "note": redact_string(note.strip())[:2000], "at": now_iso()}, check=check)
        return DECISIONS[action]

    def approve(self, request_id: str, by: str, note: str = "") -> str:
        return self.decide(request_id, "approve", by, note)

    def reject(self, request_id: str, by: str, note: str = "") -> str:
        return self.decide(request_id, "reject", by, note)

    def withdraw(self, request_id: str, by: str, note: str = "") -> str:
        return self.decide(request_id, "withdraw", by, note)

    def record_applied(self, request_ids: list[str], versions: list[str], receipts: list[Any],
                       run: str | None = None) -> str:
        """Append the event saying forget run ``run`` applied ``request_ids`` (it commits the run);
        returns its hash."""
        return self._append({"type": "applied", "requests": sorted(request_ids), "versions": versions,
                             "receipts": receipts, "at": now_iso(), "run": run})["hash"]
