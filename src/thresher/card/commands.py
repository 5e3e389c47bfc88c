"""CLI: ``thresher card RELEASE`` writes the data card; ``thresher serve RELEASE`` browses it."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..cli import app, console
from ..errors import ConfigError


def parse_targets(items: list[str]) -> dict[str, float]:
    """``["eng=0.3", "fra=0.1"]`` -> ``{"eng": 0.3, "fra": 0.1}``."""
    out: dict[str, float] = {}
    for item in items:
        lang, sep, share = item.partition("=")
        if not sep or not lang.strip():
            raise ConfigError(f"--target '{item}': expected LANG=SHARE, e.g. eng=0.3")
        try:
            out[lang.strip()] = float(share)
        except ValueError:
            raise ConfigError(f"--target '{item}': share must be a number, e.g. eng=0.3") from None
    return out


@app.command()
def card(release: Path = typer.Argument(..., help="release folder"),
         target: list[str] = typer.Option([], "--target", "-t", help="target share of bytes, LANG=SHARE (repeat)"),
         license: Optional[str] = typer.Option(None, help="license id for the card header (default: unknown)"),
         name: Optional[str] = typer.Option(None, help="pretty name (default: the pipeline's name)")):
    """Write the data card (card/README.md and card/*.png) of a release from its manifest and stats.

    Example: `thresher card out/demo --target eng=0.3 --target fra=0.1`
    """
    from . import write_card

    path = write_card(release, target_shares=parse_targets(target) or None, license=license, pretty_name=name)
    figures = sorted(p.name for p in path.parent.glob("*.png"))
    console.print(f"[bold green]Card written:[/] {path.resolve()}")
    console.print(f"  figures: {', '.join(figures) or 'none (no data)'}")
    console.print(f"  browse:  thresher serve {release}")


def check_port(host: str, port: int) -> None:
    """An InputError when ``host:port`` cannot be listened on (in use, or not an address of this machine)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise ConfigError(f"--host {host}: not an address of this machine ({e.strerror})") from None
    family, _, _, _, addr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)     # as uvicorn does
        try:
            s.bind(addr)
        except OSError as e:
            raise ConfigError(f"{host}:{port}: cannot listen there ({e.strerror}); "
                              f"pick another port with --port") from None


@app.command()
def serve(release: Path = typer.Argument(..., help="release folder"),
          port: int = typer.Option(8000, "--port", "-p", help="port on 127.0.0.1"),
          host: str = typer.Option("127.0.0.1", help="interface to listen on (keep it local unless you mean it)"),
          allow_host: list[str] = typer.Option([], "--allow-host",
                                               help="another host name the forms may be sent to (repeat)")):
    """Browse a release in a web browser: its card, search, documents, "am I in it?" and removal requests.

    Removal requests go to the ledger of the release's project (its parent folder), as with
    `thresher request add`. The card and the search index are built on first start if missing.

    Example: `thresher serve out/demo --port 8000` then open http://127.0.0.1:8000/
    """
    import uvicorn

    from ..web import create_app

    from ..web.app import LOCAL_HOSTS

    check_port(host, port)       # before the card and index are built, and before saying "Serving"
    names = LOCAL_HOSTS + tuple(allow_host) + ((host,) if host not in ("0.0.0.0", "::") else ())
    web_app = create_app(release, hosts=names)   # forms refuse any other Host (DNS rebinding)
    console.print(f"[bold green]Serving[/] {release} at http://{host}:{port}/  (Ctrl+C to stop)")
    uvicorn.run(web_app, host=host, port=port, log_level="warning")


@app.command()
def publish(release: Path = typer.Argument(..., help="release folder"),
            dest: Path = typer.Argument(..., help="new folder for the Hub-ready copy")):
    """Copy exactly the public part of a release into a Hub-ready folder: the card as README.md (one
    config per part), data/, excluded/, stats, the signed manifest and the custodian's public key.
    The search index, work files and the governance folder (salt, private key) never leave.

    Example: `thresher publish out/demo hub/demo` then `huggingface-cli upload ORG/demo hub/demo --repo-type dataset`
    """
    from .publish import publish as run_publish

    r = run_publish(release, dest)
    console.print(f"[bold green]Published[/] {r['documents']:,} documents ({r['files']} files, Merkle root "
                  f"{r['merkle_root'][:16]}...) -> {r['dest']}")
    console.print(f"  load: datasets.load_dataset({str(r['dest'])!r})")
