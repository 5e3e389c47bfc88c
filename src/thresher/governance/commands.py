"""CLI commands of the governance area: request, forget, verify, lookup, index, search.

Thin wrappers over ``thresher.governance``; every user error is a ThresherError (one ``Error:`` line).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from ..cli import app, console
from ..errors import InputError

request_app = typer.Typer(no_args_is_help=True, help="File and list removal requests of a project.\n\n"
                          "Example: `thresher request add out --domain example.org`")
app.add_typer(request_app, name="request")


@request_app.command("add")
def request_add(project: Path = typer.Argument(..., help="project folder (the parent of the release folders)"),
                url: Optional[str] = typer.Option(None, "--url", help="one URL"),
                url_prefix: Optional[str] = typer.Option(None, "--url-prefix", help="every URL under this prefix"),
                domain: Optional[str] = typer.Option(None, "--domain", help="a host and all its subdomains"),
                repo: Optional[str] = typer.Option(None, "--repo", help="a code repository (owner/name or URL)"),
                account: Optional[str] = typer.Option(None, "--account", help="a code-hosting account (stored hashed)"),
                email: Optional[str] = typer.Option(None, "--email", help="an e-mail address (stored hashed)"),
                text: Optional[str] = typer.Option(None, "--text", help="an exact text snippet (>= 20 characters)"),
                content_hash: Optional[str] = typer.Option(None, "--content-hash", help="sha256 of a document's text"),
                near_duplicates: bool = typer.Option(False, "--near-duplicates",
                                                     help="also remove copies and quotes of matched documents"),
                scope: str = typer.Option("*", help="release name it applies to (default: every release)"),
                reason: str = typer.Option("", "--reason", help="why removal is asked (PII in it is redacted)"),
                contact: Optional[str] = typer.Option(None, "--contact",
                                                      help="the requester's e-mail (stored salted and hashed)"),
                due_days: int = typer.Option(30, "--due-days", help="days until a decision is due"),
                broad: bool = typer.Option(False, "--broad", help="allow a public suffix, a bare scheme or more "
                                           "documents than --max-documents"),
                max_documents: int = typer.Option(1000, "--max-documents",
                                                  help="documents one request may match without --broad")):
    """File a removal request (pending until a steward approves it); prints its id. Approved requests
    are applied by `thresher forget` and by every new build; search and lookup hide pending ones at once.

    Example: `thresher request add out --domain example.org --near-duplicates --reason "my site"`
    """
    from .ledger import Ledger

    given = {"url": url, "url_prefix": url_prefix, "domain": domain, "repo": repo, "account": account,
             "email": email, "text": text, "content_hash": content_hash}
    chosen = [(k, v) for k, v in given.items() if v]
    if len(chosen) != 1:
        raise InputError("request add: give exactly one of --url, --url-prefix, --domain, --repo, --account, "
                         "--email, --text, --content-hash")
    (matcher, value), = chosen
    if not project.is_dir():
        raise InputError(f"{project}: project folder not found")
    rid = Ledger(project).add(matcher, value, near_duplicates=near_duplicates, scope=scope, reason=reason,
                              contact=contact, due_days=due_days, broad=broad, max_documents=max_documents)
    console.print(rid)


def _decide(action: str, project: Path, request_id: str, by: str, note: str) -> None:
    from .ledger import Ledger

    if not project.is_dir():
        raise InputError(f"{project}: project folder not found")
    console.print(f"{request_id}: {Ledger(project).decide(request_id, action, by, note)}")


BY = typer.Option(..., "--by", help="who decides (a steward's name or handle; recorded in the ledger)")
NOTE = typer.Option("", "--note", help="why (recorded in the ledger, PII redacted)")


@request_app.command("approve")
def request_approve(project: Path = typer.Argument(..., help="project folder"),
                    request_id: str = typer.Argument(..., help="request id (req-00001)"), by: str = BY, note: str = NOTE):
    """Approve a pending request: the next `thresher forget` and every later build apply it.

    Example: `thresher request approve out req-00001 --by steward`
    """
    _decide("approve", project, request_id, by, note)


@request_app.command("reject")
def request_reject(project: Path = typer.Argument(..., help="project folder"),
                   request_id: str = typer.Argument(..., help="request id"), by: str = BY, note: str = NOTE):
    """Reject a pending request: nothing is removed, and search and lookup show its documents again.

    Example: `thresher request reject out req-00002 --by steward --note "not the requester's site"`
    """
    _decide("reject", project, request_id, by, note)


@request_app.command("withdraw")
def request_withdraw(project: Path = typer.Argument(..., help="project folder"),
                     request_id: str = typer.Argument(..., help="request id"), by: str = BY, note: str = NOTE):
    """Withdraw a pending request (the requester changed their mind): nothing is removed.

    Example: `thresher request withdraw out req-00003 --by requester`
    """
    _decide("withdraw", project, request_id, by, note)


@request_app.command("list")
def request_list(project: Path = typer.Argument(..., help="project folder"),
                 as_json: bool = typer.Option(False, "--json", help="print JSON"),
                 due: bool = typer.Option(False, "--due", help="only pending requests, soonest due first")):
    """List the project's removal requests with their status (the ledger's chain is checked first).

    Example: `thresher request list out --due`
    """
    from .ledger import Ledger

    reqs = Ledger(project).list(due=due)
    if as_json:
        console.print_json(json.dumps(reqs))
        return
    from rich.table import Table

    t = Table(title=f"{project}: {len(reqs)} removal requests")
    for col in ("id", "matcher", "value", "near-dups", "scope", "received", "due", "status", "decided by", "applied to"):
        t.add_column(col, no_wrap=col in ("id", "matcher"))     # ids are copied: never cut or wrapped
    for r in reqs:
        v = r["value"] if len(r["value"]) <= 48 else r["value"][:45] + "..."
        t.add_row(r["id"], r["matcher"], v, "yes" if r["near_duplicates"] else "", r["scope"], r["received_at"],
                  r["due"] + (" (overdue)" if r.get("overdue") else ""), r["status"], r["decided_by"] or "",
                  ", ".join(r["applied_to"]))
    console.print(t)


@app.command()
def forget(project: Path = typer.Argument(..., help="project folder"),
           workers: Optional[int] = typer.Option(None, "--workers", "-w", min=1, help="worker processes")):
    """Apply the removal requests to every release of a project: new versions + receipts.

    Example: `thresher forget out` then `thresher verify out/demo@v2 --receipt out/governance/receipts/req-00001-1.json`
    """
    from ..storage import local_release, push_back
    from .forget import forget as run_forget

    local = local_release(project)                 # s3://... : pulled into its mirror, pushed back below
    res = run_forget(local, workers=workers, progress=None)
    push_back(project, local)
    if res.get("recovered"):
        console.print("[yellow]completed an interrupted forget (recorded in the ledger before it stopped)[/]")
    if res.get("rolled_back"):
        console.print("[yellow]rolled back an interrupted forget, then applied the ledger again[/]")
    for v in res["versions"]:
        console.print(str(v))
    for p in res["unchanged"]:
        console.print(f"[dim]unchanged (nothing matched): {p}[/]")
    for r in res["receipts"]:
        console.print(f"receipt: {r}")


@app.command()
def verify(release: Path = typer.Argument(..., help="release folder"),
           receipt: Optional[Path] = typer.Option(None, "--receipt", help="a forget receipt to check too")):
    """Recompute shard hashes and the Merkle root against the manifest; check a receipt's proofs.

    Example: `thresher verify out/demo@v2 --receipt out/governance/receipts/req-00001-1.json`
    """
    from ..storage import local_release
    from .verify import verify as run_verify

    r = run_verify(local_release(release), local_release(receipt) if receipt else None)   # s3://...: pulled first
    console.print(f"[bold green]OK[/] {release}: {r['shards']} shards, {r['documents']:,} documents, "
                  f"Merkle root {r['merkle_root']}" + (f", parent {r['parent']}" if r["parent"] else ""))
    for name, part in r.get("parts", {}).items():       # token shards ... (governance/parts.py)
        console.print(f"[bold green]OK[/] {name}: " + ", ".join(f"{k} {v:,}" for k, v in part.items()))
    if "receipt" in r:
        rc = r["receipt"]
        console.print(f"[bold green]OK[/] receipt for {rc['request']}: {rc['matched']} documents removed, "
                      f"{rc['proofs_verified']} proofs of absence verified, signature verified; "
                      f"ledger: {rc['ledger']}")


@app.command()
def lookup(release: Path = typer.Argument(..., help="release folder"),
           url: Optional[str] = typer.Option(None, "--url"), url_prefix: Optional[str] = typer.Option(None, "--url-prefix"),
           domain: Optional[str] = typer.Option(None, "--domain"), email: Optional[str] = typer.Option(None, "--email"),
           text: Optional[str] = typer.Option(None, "--text"),
           repo: Optional[str] = typer.Option(None, "--repo", help="a code repository (owner/name or URL)"),
           account: Optional[str] = typer.Option(None, "--account", help="a code-hosting account (compared hashed)"),
           content_hash: Optional[str] = typer.Option(None, "--content-hash", help="sha256 of a document's text"),
           as_json: bool = typer.Option(False, "--json", help="print the full answer as JSON")):
    """Am I in it? Counts and ids of matching documents, and a pre-filled removal request.

    Example: `thresher lookup out/demo --domain iana.org`
    """
    from .lookup import lookup as run_lookup

    r = run_lookup(release, url=url, domain=domain, email=email, text=text, url_prefix=url_prefix, repo=repo,
                   account=account, content_hash=content_hash, progress=None)
    if as_json:
        console.print_json(json.dumps(r))
        return
    for m in r["matches"]:
        line = f"{m['matcher']} {m['value']}: {m['count']} documents"
        if m["in_excluded"]:
            line += f" (+{m['in_excluded']} among excluded documents)"
        if "near_duplicates" in m:
            line += f", {m['near_duplicates']['count']} near-duplicates"
        console.print(line, markup=False, highlight=False)
        for i in m["ids"][:10]:
            print(f"  {i}", flush=True)            # whole ids, never wrapped (they are copied)
    if r["already_requested"]:
        console.print(f"{len(r['already_requested'])} of them are already covered by filed requests.")
    console.print("To request removal:" if r["total"] else "Nothing found. To block it from future builds anyway:")
    for c in r["request"]["commands"]:       # one line, never wrapped or cut: it is copied and pasted
        print(f"  {c}", flush=True)


@app.command()
def index(release: Path = typer.Argument(..., help="release folder")):
    """Build the release's full-text search index (SQLite FTS5, BM25) in RELEASE/index/.

    Example: `thresher index out/demo`
    """
    from .search import build_index

    r = build_index(release)
    console.print(f"indexed {r['documents']:,} documents ({r['mb']:.1f} MB) in {r['seconds']:.1f} s "
                  f"({r['mb_per_s']:.1f} MB/s) -> {r['index']} ({r['index_mb']:.1f} MB)")


@app.command()
def search(release: Path = typer.Argument(..., help="release folder"), query: str = typer.Argument(..., help="words or \"a phrase\""),
           k: int = typer.Option(10, "-k", help="number of results"),
           as_json: bool = typer.Option(False, "--json", help="print JSON")):
    """Ranked snippets (<= 128 words, PII redacted); documents under a removal request never show.

    Example: `thresher search out/demo "root zone"`
    """
    from rich.text import Text

    from .search import search as run_search

    hits = run_search(release, query, k)
    if as_json:
        console.print_json(json.dumps(hits))
        return
    if not hits:
        console.print("no results")
    for n, h in enumerate(hits, 1):
        console.print(f"[bold]{n}. {h['id']}[/]  score {h['score']:.3f}  {h['url'] or ''}", highlight=False)
        snip = Text(h["snippet"])
        for a, b in h.get("highlights", []):
            snip.stylize("bold reverse", a, b)      # the query's words
        console.print(snip, highlight=False)
        console.print()
