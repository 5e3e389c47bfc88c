"""``thresher warmup``: compile every numba kernel once, into the on-disk cache, so a user's first
pipeline runs as fast as the second (``make setup`` runs it; ``thresher.compiled`` says where the
cache lives). It runs the bundled demo and a second pipeline with the other kernel-backed steps over
the bundled sample, in a temporary folder, through the real code paths (numba compiles one version
per argument type, e.g. read-only arrays from memory-mapped stage files, so calling the kernels on
made-up arrays would miss some), then updates that release with edited copies of its documents (the
kernel matching new documents against a release's dedup index: ~2 s of a first ``thresher update``)."""
from __future__ import annotations

import tempfile
import time
from importlib.resources import files
from pathlib import Path
from typing import Optional


from .cli import WORKERS, app, console

# steps with compiled kernels that the demo pipeline does not run
OTHER_STEPS = ["gopher_quality", "gopher_repetition", "c4_quality", "fineweb_quality", "code_quality",
               "secrets_redact", "decontaminate", "exact_dedup", "minhash_dedup"]


def warmup(workers: int | None = 1) -> dict[str, float]:
    """Compile (or load) every kernel; returns compile/load seconds and the wall time."""
    import gzip
    import os

    import orjson
    import yaml

    from .compiled import JitClock
    from .config import load_config
    from .pipeline import run
    from .versions.update import update

    t0 = time.perf_counter()
    samples = Path(str(files("thresher") / "samples"))
    with tempfile.TemporaryDirectory(prefix="thresher-warmup-") as tmp:
        demo = load_config(samples / "demo.yaml", str(Path(tmp) / "demo"))
        run(demo, workers=workers, progress=False)
        cfg = {"name": "warmup", "input": [{"path": str(samples / "multilingual.jsonl.gz"), "format": "jsonl"}],
               "steps": [{s: {}} for s in OTHER_STEPS], "output": {"path": str(Path(tmp) / "other")}}
        path = Path(tmp) / "warmup.yaml"
        path.write_text(yaml.safe_dump(cfg))
        run(load_config(path), workers=workers, progress=False)
        # a release of the sample deduplicated, updated with edited copies of its documents under new ids
        dedup: list[dict[str, dict]] = [{"exact_dedup": {}}, {"minhash_dedup": {}}]
        path.write_text(yaml.safe_dump({**cfg, "steps": dedup, "output": {"path": str(Path(tmp) / "base")}}))
        run(load_config(path), workers=workers, progress=False)
        new = Path(tmp) / "new.jsonl"
        with gzip.open(samples / "multilingual.jsonl.gz", "rb") as f:
            docs = [orjson.loads(line) for line in f if line.strip()]
        new.write_bytes(b"".join(orjson.dumps({**d, "id": d["id"] + "-2", "text": d["text"] + " 2"}) + b"\n"
                                 for d in docs))
        path.write_text(yaml.safe_dump({**cfg, "input": [{"path": str(new), "format": "jsonl"}], "steps": dedup}))
        update(Path(tmp) / "base", path, workers=workers)
    # kernels those small pipelines do not reach: the data measurements of a shard of measurements.SMALL
    # characters or more, and every dedup kernel as forked workers inherit them (DedupStep.prepare)
    from .dedup import pairs
    from .measurements import warm_kernels

    warm_kernels()
    pairs.warmup()
    JitClock.install()
    return {**JitClock.snapshot(), "seconds": time.perf_counter() - t0,
            "cache": os.environ.get("NUMBA_CACHE_DIR") or "__pycache__ beside the sources"}


@app.command("warmup")
def warmup_cmd(workers: Optional[int] = WORKERS):
    """Compile every numba kernel into the on-disk cache (once per installation; `make setup` runs it).

    Example: `thresher warmup`   (then a first `thresher demo` runs as fast as the second)
    """
    r = warmup(workers or 1)
    console.print(f"[bold green]Kernels ready[/] in {r['seconds']:.1f} s (compiling {r['compile_seconds']:.1f} s, "
                  f"loading from the cache {r['load_seconds']:.1f} s); cache: {r['cache']}")
