#!/usr/bin/env python3
"""Text from media: PDF text-layer pages/s next to pypdf and pdfminer.six, OCR pages/s on 2 cores, ASR
audio seconds per second; peak RSS of each.

Peers (pypdf 7.1.0, pdfminer.six 20260107) are installed into ``benchmarks/.venv-pdf`` on first use;
thresher runs from the current interpreter. Every measurement is a fresh process (``wall`` = what a user
waits for, imports and model loading included); ``warm`` is the extraction loop alone, timed inside
that process. Medians of ``--runs`` runs; peak RSS is the largest process's (a pool worker's for
``thresher run``). The machine is shared and noisy: compare ratios from the same run.

1. text layer: every page of every PDF under ``--data`` that opens without a password, one process.
2. OCR: the first ``--ocr-pages`` pages of ``--ocr-pdf`` rendered at 300 dpi to PNG (once), then
   ``thresher run`` (format: image, 2 workers: one page per worker, OpenMP off) next to Debian's
   ``tesseract`` CLI one page at a time (its OpenMP threads on) and two CLI processes at a time with
   ``OMP_THREAD_LIMIT=1``.
3. ASR: ``thresher run`` (format: audio, PocketSphinx, 2 workers) on the WAV/FLAC/OGG/MP3 files under
   ``--audio``; audio seconds transcribed per wall-clock second.

    python benchmarks/media_bench.py --runs 3          # ~6 min on 2 busy cores
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV = HERE / ".venv-pdf"
PEERS = ["pypdf==7.1.0", "pdfminer.six==20260107"]

EXTRACT = textwrap.dedent('''
    import json, resource, sys, time
    tool, files = sys.argv[1], json.loads(sys.argv[2])

    def pages_of(f):
        if tool == "thresher":
            from collections import Counter
            from thresher.media.pdf import read_pages
            got = read_pages(f, 0, None, {"ocr": False}, Counter())
            if got is None:
                raise ValueError("unreadable")
            return [t for _, t, _ in got[1]]
        if tool == "pypdf":
            import pypdf
            return [p.extract_text() for p in pypdf.PdfReader(f).pages]
        from pdfminer.high_level import extract_pages
        from pdfminer.layout import LTTextContainer
        return ["".join(e.get_text() for e in layout if isinstance(e, LTTextContainer)) for layout in extract_pages(f)]

    t0 = time.perf_counter()
    pages = chars = 0
    failed = []
    for f in files:
        try:
            texts = pages_of(f)
        except Exception:
            failed.append(f)
            continue
        pages += len(texts)
        chars += sum(len(t) for t in texts)
    dt = time.perf_counter() - t0
    print(json.dumps({"pages": pages, "chars": chars, "warm": dt, "failed": failed,
                      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
''')


def ensure_venv() -> Path:
    py = VENV / "bin" / "python"
    if not py.exists():
        print(f"creating {VENV} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    probe = "from importlib.metadata import version as v; assert v('pypdf') == '7.1.0' and v('pdfminer.six') == '20260107'"
    if subprocess.run([str(py), "-c", probe], capture_output=True).returncode != 0:
        print(f"installing {', '.join(PEERS)} into {VENV} ...", file=sys.stderr)
        subprocess.run([str(py), "-m", "pip", "install", "-q", *PEERS], check=True)
    return py


def timed(cmd: list[str], env: dict | None = None, cwd: Path | None = None) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MB of its largest process, descendants included, stdout) of one fresh command."""
    with tempfile.TemporaryFile() as fo, tempfile.TemporaryFile() as fe:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=fo, stderr=fe, env=env, cwd=cwd)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        fo.seek(0)
        fe.seek(0)
        if p.returncode:
            raise SystemExit(f"failed: {' '.join(cmd[:4])}: {fe.read().decode()[-2000:]}")
        return wall, usage.ru_maxrss / 1024, fo.read().decode()


def readable_pdfs(folder: Path) -> list[str]:
    import pypdfium2 as pdfium

    out = []
    for f in sorted(folder.rglob("*.pdf")):
        try:
            pdfium.PdfDocument(str(f)).close()
            out.append(str(f))
        except pdfium.PdfiumError:
            pass
    return out


TOOLS = ("thresher", "pypdf", "pdfminer.six")


def common_pdfs(files: list[str], peer_py: Path) -> tuple[list[str], dict[str, int]]:
    """The PDFs every tool reads without an exception (so all read the same pages), and each tool's failures."""
    failed: dict[str, list[str]] = {}
    for tool in TOOLS:
        py = sys.executable if tool == "thresher" else str(peer_py)
        failed[tool] = json.loads(timed([py, "-c", EXTRACT, tool.split(".")[0], json.dumps(files)])[2])["failed"]
    bad = set().union(*failed.values())
    return [f for f in files if f not in bad], {t: len(v) for t, v in failed.items()}


def text_layer(files: list[str], runs: int, peer_py: Path) -> list[dict]:
    rows = []
    for tool in TOOLS:
        py = sys.executable if tool == "thresher" else str(peer_py)
        results = []
        for _ in range(runs):
            wall, _, out = timed([py, "-c", EXTRACT, tool.split(".")[0], json.dumps(files)])
            results.append({**json.loads(out), "wall": wall})
        rows.append({"tool": tool, "pages": results[0]["pages"], "chars": results[0]["chars"],
                     "wall": statistics.median(r["wall"] for r in results),
                     "warm": statistics.median(r["warm"] for r in results),
                     "rss": max(r["rss_mb"] for r in results)})
    return rows


def render_pages(pdf_path: Path, n: int, folder: Path) -> list[Path]:
    import pypdfium2 as pdfium

    folder.mkdir(parents=True, exist_ok=True)
    doc = pdfium.PdfDocument(str(pdf_path))
    out = []
    for i in range(min(n, len(doc))):
        p = folder / f"page-{i + 1:03d}.png"
        doc[i].render(scale=300 / 72, grayscale=True).to_pil().save(p)
        out.append(p)
    return out


def thresher_run(work: Path, inputs: str, workers: int = 2) -> tuple[float, float]:
    (work / "p.yaml").write_text(f"name: bench\ninput:\n  - {inputs}\nsteps: []\noutput: {{path: out}}\n")
    thresher = str(Path(sys.executable).parent / "thresher")
    return timed([thresher, "run", "p.yaml", "-w", str(workers), "--overwrite"], cwd=work)[:2]


def tesseract_cli(pages: list[Path], parallel: int, omp_off: bool) -> tuple[float, float]:
    env = {k: v for k, v in os.environ.items() if k != "OMP_THREAD_LIMIT"}
    if omp_off:
        env["OMP_THREAD_LIMIT"] = "1"
    t0, rss, running = time.perf_counter(), 0.0, []
    queue = list(pages)
    while queue or running:
        while queue and len(running) < parallel:
            running.append(subprocess.Popen(["tesseract", str(queue.pop(0)), "stdout", "-l", "eng"],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env))
        pid, _, usage = os.wait4(-1, 0)
        rss = max(rss, usage.ru_maxrss / 1024)
        running = [p for p in running if p.pid != pid]
    return time.perf_counter() - t0, rss


def med(fn, runs: int) -> tuple[float, float]:
    got = [fn() for _ in range(runs)]
    return statistics.median(g[0] for g in got), max(g[1] for g in got)


def audio_seconds(folder: Path) -> tuple[list[Path], float]:
    import soundfile as sf

    files = sorted(f for f in folder.iterdir() if f.suffix in (".wav", ".flac", ".ogg", ".mp3"))
    ok = []
    for f in files:
        try:
            ok.append((f, sf.info(str(f)).duration))
        except Exception:
            pass
    return [f for f, _ in ok], sum(d for _, d in ok)


def print_text_layer(rows: list[dict], files: list[str], every: list[str], failures: dict, args) -> None:
    base = next(r for r in rows if r["tool"] == "thresher")
    print(f"### PDF text layer: {len(files)} PDFs, {base['pages']} pages, one process\n")
    print(f"The {len(every)} PDFs under {args.data} that open without a password, less those a tool raised on "
          f"({', '.join(f'{t}: {n}' for t, n in failures.items())}).\n")
    print("| tool | pages | chars | pages/s (warm) | wall s (fresh process) | x thresher time (warm) | peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['tool']} | {r['pages']} | {r['chars']:,} | {r['pages'] / r['warm']:.1f} | {r['wall']:.2f} "
              f"| {r['warm'] / base['warm']:.1f} | {r['rss']:.0f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data/pdf_samples"), help="folder of PDFs")
    ap.add_argument("--ocr-pdf", type=Path, default=ROOT / "tests/fixtures/media/pdf/dmca.pdf")
    ap.add_argument("--ocr-pages", type=int, default=8)
    ap.add_argument("--audio", type=Path, default=ROOT / "tests/fixtures/media/audio")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--parts", default="text,ocr,asr", help="which measurements, comma-separated")
    args = ap.parse_args()
    from _inputs import require_inputs  # benchmarks/_inputs.py: a clear error when an input is missing
    require_inputs(args)
    peer_py = ensure_venv()
    import pypdfium2
    import tesserocr

    print(f"pypdfium2 {pypdfium2.version.PYPDFIUM_INFO}, tesserocr {tesserocr.tesseract_version().split()[1]}, "
          f"{os.cpu_count()} CPUs (shared machine; medians of {args.runs} runs)\n")

    parts = set(args.parts.split(","))
    every = readable_pdfs(args.data)
    files, failures = common_pdfs(every, peer_py) if "text" in parts else (every, {})
    rows = text_layer(files, args.runs, peer_py) if "text" in parts else []
    if rows:
        print_text_layer(rows, files, every, failures, args)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if rows:
            pages = next(r for r in rows if r["tool"] == "thresher")["pages"]
            wall, rss = med(lambda: thresher_run(work, f"{{path: {json.dumps(files)}, format: pdf, ocr: false}}"),
                            args.runs)
            print(f"\n`thresher run` (format: pdf, ocr: false, 2 workers, Parquet release written): "
                  f"{pages / wall:.1f} pages/s wall, peak RSS {rss:.0f} MB\n")

        if "ocr" in parts:
            pages = render_pages(args.ocr_pdf, args.ocr_pages, work / "pages")
            n = len(pages)
            ours = med(lambda: thresher_run(work, "{path: pages, format: image, language: en}"), args.runs)
            serial = med(lambda: tesseract_cli(pages, 1, False), args.runs)
            two = med(lambda: tesseract_cli(pages, 2, True), args.runs)
            print(f"### OCR: {n} pages of {args.ocr_pdf.name} at 300 dpi, English, 2 cores\n")
            print("| how | pages/s | wall s | peak RSS MB |")
            print("|---|---:|---:|---:|")
            for name, (w, r) in (("thresher run (tesserocr, 2 workers, one page each, OpenMP off)", ours),
                                 ("tesseract CLI, one page at a time, OpenMP on", serial),
                                 ("tesseract CLI, 2 pages at a time, OMP_THREAD_LIMIT=1", two)):
                print(f"| {name} | {n / w:.2f} | {w:.1f} | {r:.0f} |")

        if "asr" in parts:
            audio, seconds = audio_seconds(args.audio)
            listing = json.dumps([str(f) for f in audio])
            w, r = med(lambda: thresher_run(work, f"{{path: {listing}, format: audio}}"), args.runs)
            print(f"\n### ASR: {len(audio)} files, {seconds:.1f} s of speech, PocketSphinx en-us, 2 workers\n")
            print("| how | audio s per s | wall s | peak RSS MB |")
            print("|---|---:|---:|---:|")
            print(f"| thresher run (format: audio) | {seconds / w:.2f} | {w:.1f} | {r:.0f} |")


if __name__ == "__main__":
    main()
