"""CLI: ``thresher crawl SEEDS -o OUT``."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from ..cli import app, console


@app.command("crawl")
def crawl_cmd(seeds: Path = typer.Argument(..., help="seed file: one site URL per line (# comments)"),
              output: Path = typer.Option(..., "--output", "-o", help="crawl folder (warc/, crawl.log.jsonl, sites.json)"),
              max_pages: int = typer.Option(100, "--max-pages", "-n", help="URLs fetched per site"),
              depth: int = typer.Option(2, "--depth", "-d", help="link hops from the seed (sitemap URLs count as 1)"),
              contact: Optional[str] = typer.Option(None, help="e-mail or URL put in the user agent "
                                                              "(default: $THRESHER_CRAWL_CONTACT); required"),
              delay: float = typer.Option(1.0, help="seconds between requests to one host (robots.txt Crawl-delay wins if longer)"),
              workers: int = typer.Option(4, help="sites crawled at once (always one connection per host)"),
              timeout: float = typer.Option(30.0, help="connect and read timeout, seconds"),
              retries: int = typer.Option(2, help="retries after a timeout, connection error, 429 or 5xx (exponential back-off)"),
              max_mb: float = typer.Option(10.0, "--max-mb", help="largest response body kept, MB"),
              sitemaps: bool = typer.Option(True, help="follow the site's sitemaps"),
              terms: bool = typer.Option(True, help="find and analyse each site's terms / licence pages"),
              no_delay: bool = typer.Option(False, "--no-delay", help="no politeness delays (only for servers you run); robots.txt is still obeyed")):
    """Crawl a list of sites politely into gzip WARC, recording rights signals and terms pages.

    Same-site, breadth first, robots.txt obeyed (plus ai.txt, TDMRep, noai and licence marks recorded
    per document), one connection per host. A re-run into the same folder resumes and never refetches.
    Then read it with `input: {path: OUT/warc/*.warc.gz, format: warc}`.

    Example: `thresher crawl seeds.txt -o crawl/ --max-pages 50 --depth 2 --contact me@example.org`
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .crawler import CrawlConfig, crawl, read_seeds

    cfg = CrawlConfig(contact=contact or os.environ.get("THRESHER_CRAWL_CONTACT", ""), max_pages=max_pages,
                      depth=depth, delay=delay, polite=not no_delay, workers=workers, timeout=timeout,
                      retries=retries, max_bytes=int(max_mb * 2**20), sitemaps=sitemaps, terms=terms)
    urls = read_seeds(seeds)
    with Progress(TextColumn("crawl"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task("", total=max_pages * len(urls))

        def progress(kind: str, rec: dict) -> None:
            if rec.get("depth") is not None and not str(rec.get("outcome", "")).startswith(("retry", "robots")):
                bar.update(task, advance=1, description=str(rec.get("url", ""))[-60:])

        summary = crawl(urls, output, cfg, progress)
    out = output.resolve()
    console.print(f"[bold green]Crawl written:[/] {out}  ({summary['seconds']:.1f} s, {summary['sites']} sites)")
    console.print("  outcomes: " + ", ".join(f"{k}={v}" for k, v in sorted(summary["outcomes"].items())))
    console.print(f"  WARC:  {out / 'warc'}/*.warc.gz\n  log:   {out / 'crawl.log.jsonl'}\n  sites: {out / 'sites.json'}")
