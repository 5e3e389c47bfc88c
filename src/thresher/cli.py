"""The command line: a thin layer over the library. Every user error ends as one line ``Error: ...``.

Start-up is part of every command a user types (``thresher --help`` <= 0.5 s, see
``benchmarks/cold_warm.py``), so the convention for every command module is:

- register it with ONE line appended to ``COMMAND_MODULES`` below; ``main()`` (the ``thresher``
  script, ``python -m thresher`` and ``python -m thresher.cli``) imports each before parsing;
- at module level import only the standard library, ``typer``, ``..cli`` and ``..errors``: numpy,
  pyarrow, numba, pydantic, matplotlib, torch, rich.table/progress and the library modules that pull
  them in are imported inside the command function that uses them (``tests/test_startup.py`` checks);
- a package's ``__init__`` exports its names lazily (``thresher.lazy.exports``) so importing
  ``thresher.X.commands`` does not import all of ``thresher.X``.
"""
from __future__ import annotations

import json
import logging
import os
import sys
from importlib.resources import files
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from .errors import ThresherError

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, no_args_is_help=True, rich_markup_mode="markdown",
                  help="thresher: build open, documented, governable pre-training corpora.\n\n"
                       "Example: `thresher demo` then `thresher stats thresher-demo`.")


def _console() -> Console:
    """Rich's console on stdout. Piped or redirected (a log file, CI, `| less`), Rich would cut tables
    and hard-wrap lines at 80 columns; there it gets 200 columns and lines are never wrapped (a set
    ``COLUMNS`` still decides)."""
    c = Console()
    return c if c.is_terminal or os.environ.get("COLUMNS") else Console(width=200, soft_wrap=True)


console = _console()

def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            v = version("thresher")
        except PackageNotFoundError:        # run from a source tree that was never installed
            from . import __version__ as v
        print(f"thresher {v}")
        raise typer.Exit()


@app.callback()
def _options(show_version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                               help="print thresher's version and exit")) -> None:
    """thresher: build open, documented, governable pre-training corpora."""


WORKERS = typer.Option(None, "--workers", "-w", min=1, help="worker processes (default: one per core)")


@app.command()
def run(pipeline: Path = typer.Argument(..., help="pipeline YAML"),
        output: Optional[str] = typer.Option(None, "--output", "-o", help="release folder (overrides output.path)"),
        workers: Optional[int] = WORKERS,
        overwrite: bool = typer.Option(False, help="delete an existing release at the output path first"),
        limit: Optional[int] = typer.Option(None, "--limit", min=1, help="only the first N documents (a trial run)"),
        executor: Optional[str] = typer.Option(None, "--executor", help="local (default) or ray (overrides executor.kind)"),
        ray_address: Optional[str] = typer.Option(None, "--ray-address", help="ray: auto (default), HOST:PORT or local")):
    """Run a pipeline. A re-run into the same folder resumes: finished shards are skipped.

    Example: `thresher run examples/web.yaml -o out/web --workers 2` (try it first: `--limit 100 -o out/try`)
    (on a Ray cluster: `thresher run examples/web.yaml -o /shared/web --executor ray --ray-address auto`)
    """
    from .config import load_config, with_executor
    from .io.arrow_pandas import in_this_process
    from .pipeline import run as run_pipeline

    in_this_process()           # pyarrow converts without importing pandas, which no built-in step uses
    cfg = with_executor(load_config(pipeline, output), executor, ray_address)
    if limit is not None:
        cfg.limit = limit
    out = run_pipeline(cfg, workers=workers, overwrite=overwrite)
    _report(out)


DEMO_MARK = ".thresher-demo"


@app.command()
def demo(project: Path = typer.Argument(Path("thresher-demo"), help="project folder for the demo: the release "
                                        "goes to PROJECT/demo, its governance folder to PROJECT/governance"),
         workers: Optional[int] = WORKERS):
    """Run the bundled demo pipeline on a bundled real sample (web crawl + multilingual JSONL).

    It only writes into an empty (or new) folder, or one an earlier demo wrote; a demo release that
    already has a newer version (after `thresher forget`) is left as it is.

    Example: `thresher demo /tmp/demo && thresher stats /tmp/demo/demo`
    """
    from .config import load_config
    from .errors import InputError
    from .io.arrow_pandas import in_this_process
    from .pipeline import run as run_pipeline
    from .release import child_versions

    in_this_process()           # pyarrow converts without importing pandas (as `thresher run`)

    if project.exists() and (not project.is_dir() or (any(project.iterdir()) and not (project / DEMO_MARK).is_file())):
        raise InputError(f"{project}: exists, is not empty and was not written by `thresher demo`; give a new folder")
    project.mkdir(parents=True, exist_ok=True)
    (project / DEMO_MARK).write_text("written by `thresher demo`\n")
    out = project / "demo"
    kids = child_versions(out)
    if kids:
        console.print(f"[yellow]{out} has newer versions ({', '.join(k.name for k in kids)}): left as it is[/]")
    else:
        cfg = load_config(Path(str(files("thresher") / "samples" / "demo.yaml")), str(out))
        out = run_pipeline(cfg, workers=workers, overwrite=True)
        from .card import write_card

        write_card(out)
    _report(out)


def _report(out: Path) -> None:
    from .release import Release

    rel = Release(out)
    m = rel.manifest
    console.print(f"[bold green]Release written:[/] {out.resolve()}")
    console.print(f"  documents kept: {m['documents']:,}   excluded: {m['excluded_documents']:,}")
    console.print(f"  data:     {out.resolve() / 'data'}")
    console.print(f"  stats:    {out.resolve() / 'stats.json'}")
    console.print(f"  manifest: {out.resolve() / 'manifest.json'} (merkle root {m['merkle']['root'][:16]}...)")
    card = out / "card" / "README.md"
    if card.exists():
        console.print(f"  card:     {card.resolve()}")
        console.print(f"  browse:   thresher serve {out}")


@app.command()
def stats(release: Path = typer.Argument(..., help="release folder"),
          as_json: bool = typer.Option(False, "--json", help="print stats.json as is")):
    """Per-step documents in/out, bytes, seconds and drop reasons of a release.

    Example: `thresher stats out/demo`
    """
    from .release import Release

    rel = Release(release)
    s = rel.stats
    if as_json:
        console.print_json(json.dumps(s.to_json()))
        return
    from rich.table import Table

    t = Table(title=f"{release}: {rel.manifest['documents']:,} documents")
    for col in ("step", "docs in", "docs out", "MB in", "MB out", "seconds", "top drop reasons"):
        t.add_column(col, justify="left" if col in ("step", "top drop reasons") else "right")
    for name, st in s.steps.items():
        reasons = ", ".join(f"{k}={v}" for k, v in st.drops.most_common(3))
        t.add_row(name, f"{st.docs_in:,}", f"{st.docs_out:,}", f"{st.bytes_in / 1e6:.2f}", f"{st.bytes_out / 1e6:.2f}",
                  f"{st.seconds:.2f}", reasons)
    console.print(t)
    console.print("reader: " + ", ".join(f"{k}={v:,}" for k, v in sorted(s.reader.items())))
    if s.jit:        # numba kernels compiled / loaded from the cache: not part of any step's seconds
        console.print("kernels: " + ", ".join(f"{k}={v:.2f}" for k, v in sorted(s.jit.items())))
    if s.languages:
        top = sorted(s.languages.items(), key=lambda kv: -kv[1]["docs"])[:12]
        console.print("languages: " + ", ".join(f"{k}={v['docs']}" for k, v in top))


@app.command()
def why(release: Path = typer.Argument(..., help="release folder"), doc_id: str = typer.Argument(..., help="document id")):
    """Where a document came from and, if it was dropped, which step, rule, score and threshold.

    Example: `thresher why out/demo udhr-eng`
    """
    from .release import Release

    console.print_json(json.dumps(Release(release).why(doc_id), default=str))


@app.command()
def steps(name: Optional[str] = typer.Argument(None, help="one step: its full description and options")):
    """List every registered step with its options and defaults; `thresher steps NAME` describes one.

    Example: `thresher steps` or `thresher steps gopher_quality`
    """

    from .steps_help import print_step, print_steps

    print_step(name, console) if name else print_steps(console)


# Commands of other areas register themselves on `app` when imported.
COMMAND_MODULES: list[str] = ["thresher.card.commands", "thresher.governance.commands", "thresher.dedup.commands"]
COMMAND_MODULES.append("thresher.languages")      # thresher languages, thresher calibrate
COMMAND_MODULES.append("thresher.crawl.commands")        # issue 26: thresher crawl
COMMAND_MODULES += ["thresher.eval.commands"]     # issue 19: thresher eval
COMMAND_MODULES += ["thresher.tokens.commands"]      # tokenizer train/report, tokenize
COMMAND_MODULES.append("thresher.train.commands")   # train, generate, export (torch imported on use)
COMMAND_MODULES.append("thresher.warmup")            # issue 21: thresher warmup (compile the kernels once)
COMMAND_MODULES.append("thresher.head")     # issue 20: thresher head
COMMAND_MODULES.append("thresher.versions.commands")   # issue 24: update, diff
COMMAND_MODULES += ["thresher.classifier", "thresher.audit.commands"]   # issue 27: classifier train, audit


def main() -> None:
    """The ``thresher`` script: run the command, then leave without the interpreter's teardown."""
    try:
        _command()
        code: int | str | None = 0
    except SystemExit as e:
        code = e.code
    _leave(code)


def _leave(code: int | str | None) -> None:
    """End the process once the command has finished: what Python's finalisation would still do after
    the atexit handlers (tear down every module and free every object of pyarrow, pandas, numba ...)
    costs 0.3 s on an idle machine and seconds on a loaded one (a fifth of a small ``thresher update``,
    ``benchmarks/update_bench.py``), and nothing a user needs: every output is written and closed by then
    (atomic renames). Non-daemon threads are joined and the atexit handlers run (logging, Ray,
    multiprocessing), as at a normal exit; then stdout/stderr are flushed and the process ends."""
    import atexit
    import os
    import threading

    if isinstance(code, str):          # sys.exit("message"): printed, status 1, as Python does
        print(code, file=sys.stderr)
        code = 1
    for t in threading.enumerate():
        if t is not threading.main_thread() and not t.daemon:
            t.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):    # a closed pipe (`thresher ... | head`): nothing left to show
            pass
    os._exit(int(code or 0))


def _command() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    import importlib

    for mod in COMMAND_MODULES:
        importlib.import_module(mod)
    try:
        app()
    except ThresherError as e:
        print(f"Error: {e}", file=sys.stderr)
        sys.exit(1)
    except (FileNotFoundError, PermissionError, IsADirectoryError) as e:
        print(f"Error: {e.filename}: {e.strerror}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("Error: interrupted (finished shards are kept; re-run to resume)", file=sys.stderr)
        sys.exit(130)
    except Exception as e:     # a case no check foresaw: still one line, no traceback (THRESHER_DEBUG=1 shows it)
        import os

        if os.environ.get("THRESHER_DEBUG"):
            raise
        where = getattr(e, "filename", None)
        print(f"Error: {where + ': ' if where else ''}{type(e).__name__}: {e}".splitlines()[0], file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    # `python -m thresher.cli` runs this file as __main__; the command modules register on the app of
    # the module `thresher.cli`, so run that one's main (else only the commands above would exist)
    from thresher.cli import main as _main

    _main()
