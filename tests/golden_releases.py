"""Golden releases: the Merkle root, every output file's sha256 and the step counts of real pipelines
on the bundled samples and the test fixtures, so a refactor can prove its releases are byte-identical.

Regenerate (after a change that alters outputs on purpose, and say so in the commit):

    .venv/bin/python tests/golden_releases.py --write

Without ``--write`` it prints what differs from tests/fixtures/golden_releases.json.
"""
from __future__ import annotations

import sys
import tempfile
from importlib.resources import files
from pathlib import Path
from typing import Any, Callable

import orjson

HERE = Path(__file__).parent
GOLDEN = HERE / "fixtures" / "golden_releases.json"
SAMPLES = Path(str(files("thresher") / "samples"))
IO = HERE / "fixtures" / "io"
DEDUP = HERE / "fixtures" / "dedup"
GOV = HERE / "fixtures" / "governance"


def _demo(tmp: Path) -> Path:
    from thresher.config import load_config

    return _run(load_config(SAMPLES / "demo.yaml", str(tmp / "demo")))


def _yaml(tmp: Path, name: str, body: str) -> Path:
    y = tmp / f"{name}.yaml"
    y.write_text(f"name: {name}\n{body}")
    return y


def _web(tmp: Path) -> Path:
    """WARC + ARC + JSONL readers, extraction and a filter, several shards, input order."""
    return _run(_yaml(tmp, "web", f"""
input:
  - {{path: "{IO}/*.warc*", format: warc}}
  - {{path: "{IO}/*.arc*", format: warc}}
  - {{path: "{IO}/lingua.jsonl", format: jsonl, shard_mb: 0.02}}
steps:
  - extract_html: {{}}
  - length_filter: {{min_chars: 120}}
  - language_id: {{}}
output: {{path: "{tmp}/web"}}
"""))


def _dedup(tmp: Path) -> Path:
    """Two global steps, each alone in its stage (the columnar path), input order."""
    return _run(_yaml(tmp, "dedup", f"""
input: {{path: "{DEDUP}/udhr-*.jsonl.gz", format: jsonl}}
steps:
  - exact_dedup: {{}}
  - minhash_dedup: {{}}
output: {{path: "{tmp}/dedup"}}
"""))


def _dedup_docs(tmp: Path) -> Path:
    """A global step followed by document steps (the Document path), ordered by source."""
    return _run(_yaml(tmp, "dedup_docs", f"""
input:
  - {{path: "{DEDUP}/clough_stevenson.jsonl.gz", format: jsonl}}
  - {{path: "{SAMPLES}/web/*.warc.gz", format: warc}}
steps:
  - extract_html: {{extractor: resiliparse}}
  - minhash_dedup: {{}}
  - length_filter: {{min_chars: 300}}
  - pii_redact: {{}}
output: {{path: "{tmp}/dedup_docs", order: source}}
"""))


def _governed(tmp: Path) -> Path:
    """A build in a project with an approved removal request (the ledger applied as the last step)."""
    from thresher.governance import Ledger

    project = tmp / "project"
    project.mkdir()
    led = Ledger(project)
    led.approve(led.add("domain", "iana.org"), by="steward")
    return _run(_yaml(tmp, "governed", f"""
input:
  - {{path: "{SAMPLES}/web/*.warc.gz", format: warc}}
  - {{path: "{GOV}/clough_stevenson.jsonl", format: jsonl}}
steps:
  - extract_html: {{extractor: resiliparse}}
  - length_filter: {{min_chars: 200}}
output: {{path: "{project}/governed"}}
"""))


PIPELINES: dict[str, Callable[[Path], Path]] = {"demo": _demo, "web": _web, "dedup": _dedup,
                                                "dedup_docs": _dedup_docs, "governed": _governed}


def _run(cfg: Any) -> Path:
    from thresher.pipeline import run

    return run(cfg, workers=2, progress=False)


def fingerprint(out: Path) -> dict[str, Any]:
    """What must not change: the Merkle root, each output's rows and sha256, the step counts."""
    m = orjson.loads((out / "manifest.json").read_bytes())
    stats = orjson.loads((out / "stats.json").read_bytes())
    steps = {k: {f: v[f] for f in ("docs_in", "docs_out", "bytes_in", "bytes_out", "drops", "counters")}
             for k, v in stats["steps"].items()}
    return {"merkle_root": m["merkle"]["root"], "documents": m["documents"], "outputs": m["outputs"],
            "steps": steps, "languages": stats["languages"], "reader": stats["reader"]}


def build(name: str, tmp: Path) -> dict[str, Any]:
    return fingerprint(PIPELINES[name](tmp))


def load() -> dict[str, Any]:
    return orjson.loads(GOLDEN.read_bytes())


def main(argv: list[str]) -> int:
    got = {}
    for name in PIPELINES:
        with tempfile.TemporaryDirectory() as d:
            got[name] = build(name, Path(d))
    if "--write" in argv:
        GOLDEN.write_bytes(orjson.dumps(got, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
        print(f"wrote {GOLDEN}")
        return 0
    want = load()
    bad = [n for n in PIPELINES if got[n] != want.get(n)]
    for n in bad:
        print(f"{n}: differs from the golden release")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
