"""Language packs from the command line: ``thresher languages`` lists them, ``thresher calibrate``
derives a pack for a language variety from a release's own language-ID scores (FineWeb-2's rule:
threshold = median - std of the variety's scores, clamped to [0.3, 0.9])."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from .cli import app, console
from .errors import ConfigError
from .text.packs import SHIPPED, lid_threshold, load_packs, pack_key

if TYPE_CHECKING:       # numpy, pyarrow and the release load when a command needs them (fast start-up)
    import numpy as np

    from .release import Release


def release_scores(release: Release, key: str) -> np.ndarray:
    """``meta.language_score`` of every document of ``release`` (kept and excluded) whose
    language + script is ``key`` (``srp_Cyrl``; a bare language matches any script)."""
    import numpy as np
    import orjson
    import pyarrow.parquet as pq

    scores: list[float] = []
    for kind in ("data", "excluded"):
        for path in release.files(kind):
            for batch in pq.ParquetFile(path).iter_batches(columns=["meta"]):
                for raw in batch.column(0).to_pylist():
                    if not raw or b'"language_score"' not in (raw if isinstance(raw, bytes) else raw.encode()):
                        continue
                    meta = orjson.loads(raw)
                    got = pack_key(meta.get("language"), meta.get("script"))
                    if got is not None and (got == key or ("_" not in key and got.split("_")[0] == key)):
                        scores.append(float(meta["language_score"]))
    return np.asarray(scores, dtype=np.float64)


def calibrate(release: str | Path, language: str, base: str = SHIPPED) -> dict[str, Any]:
    """A pack for ``language`` (``xyz_Latn``) from a release: the shipped pack of that variety (if
    any) with ``lid_threshold`` recomputed from the release's scores, and the figures behind it."""
    key = language.strip()
    lang, _, script = key.partition("_")
    if len(lang) != 3 or not lang.isalpha() or (script and (len(script) != 4 or not script.istitle())):
        raise ConfigError(f"--language {language!r}: expected ISO 639-3 [+ _ + ISO 15924], e.g. srp_Latn")
    import numpy as np

    from .release import Release

    rel = Release(release)
    scores = release_scores(rel, key)
    if scores.size == 0:
        raise ConfigError(f"{rel.path}: no document with language {key} and a language_score (run language_id)")
    pack = dict(load_packs(base).get(key) or load_packs(base).get(lang) or
                {"language": lang, "script": script or None, "stopwords": [], "thresholds": {}})
    pack.update({
        "lid_threshold": lid_threshold(scores),
        "lid_threshold_source": f"calibrated on {rel.path.name}: median - std of {scores.size} scores, "
                                "clamped to [0.3, 0.9]",
        "calibration": {"documents": int(scores.size), "median": float(np.median(scores)),
                        "std": float(scores.std()), "min": float(scores.min()), "max": float(scores.max())},
    })
    return pack


def write_pack_file(path: str | Path, packs: dict[str, dict[str, Any]]) -> Path:
    """Write (atomically) a pack file a pipeline can use as ``language_pack: PATH``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".pack-")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"source": "thresher calibrate", "packs": packs}, f, ensure_ascii=False, indent=1, sort_keys=True)
    os.replace(tmp, path)
    return path


@app.command()
def languages(language: Optional[str] = typer.Argument(None, help="show one pack in full, e.g. srp_Cyrl"),
              pack_file: Optional[Path] = typer.Option(None, "--packs", help="a pack file instead of the shipped one")):
    """List the language packs (LID threshold, stop words, tokeniser, per-step thresholds and their sources).

    Example: `thresher languages` or `thresher languages deu_Latn`
    """
    from rich.table import Table

    packs = load_packs(str(pack_file) if pack_file else SHIPPED)
    if language:
        if language not in packs:
            raise ConfigError(f"no language pack {language!r} (see `thresher languages`)")
        console.print_json(data=packs[language])
        return
    t = Table(title=f"{len(packs)} language packs")
    for col in ("pack", "name", "LID threshold", "stop words", "tokeniser", "tuned steps"):
        t.add_column(col)
    for key, p in sorted(packs.items()):
        seg = f" (+{p['segmenter']})" if p.get("segmenter") else ""
        t.add_row(key, p.get("name", ""), f"{p['lid_threshold']:.3f}",
                  f"{len(p.get('stopwords', []))} ({p.get('stopwords_source', '?')})", f"{p.get('tokenizer', 'script')}{seg}",
                  ", ".join(sorted(p.get("thresholds", {}))) or "defaults")
    console.print(t)


@app.command("calibrate")
def calibrate_cmd(release: Path = typer.Argument(..., help="release folder (language_id must have run)"),
                  language: str = typer.Option(..., "--language", "-l", help="language + script, e.g. xyz_Latn"),
                  out: Optional[Path] = typer.Option(None, "-o", "--out", help="pack file to write (default: "
                                                     "RELEASE/language_packs/LANG.json)")):
    """Compute FineWeb-2's per-language LID threshold (median - std, clamped to [0.3, 0.9]) from a release and write a pack file.

    Example: `thresher calibrate out/web --language srp_Latn` then `language_pack: out/web/language_packs/srp_Latn.json`
    """
    pack = calibrate(release, language)
    path = write_pack_file(out or Path(release) / "language_packs" / f"{language}.json", {language: pack})
    c = pack["calibration"]
    console.print(f"{language}: {c['documents']} documents, median {c['median']:.3f}, std {c['std']:.3f} -> "
                  f"lid_threshold {pack['lid_threshold']:.3f}\n[bold green]Pack written:[/] {path}")
