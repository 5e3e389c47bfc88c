"""A release on disk: finalising it (stats.json, manifest.json with Merkle root) and reading it back
(stats, provenance, why a document was dropped)."""
from __future__ import annotations

import hashlib
import platform
from importlib.metadata import PackageNotFoundError, version
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import xxhash

from .errors import ReleaseError
from .io.writer import file_sha256, write_json
from .merkle import leaf_hash, root
from .paths import (DATA, EXCLUDED, MANIFEST, clusters_dir, complete_path, governance_state, layout_path, leaves_path, manifest_path,
                    marker_path, readme_path, run_state, stats_path)
from .stats import Stats

if TYPE_CHECKING:
    from .config import PipelineConfig
    from .io import ShardSpec

TOOLS = ("thresher", "pyarrow", "resiliparse", "fastwarc", "trafilatura", "pycld2", "py3langid",
         "numba", "numpy", "orjson", "xxhash", "phonenumbers", "python-stdnum", "detect-secrets")


def tool_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in TOOLS:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def input_hash(path: str) -> str:
    h = xxhash.xxh3_128()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


LEAF_ORDER = [("id", "ascending"), ("content_hash", "ascending")]


def leaf_table(ids: list[str], hashes: list[str]) -> pa.Table:
    """(id, content_hash, leaf) sorted by (id, content_hash): a shard's Merkle leaves (Arrow sorts
    strings by their UTF-8 bytes, which is code-point order)."""
    t = pa.table({"id": pa.array(ids, pa.string()), "content_hash": pa.array(hashes, pa.string())}).sort_by(LEAF_ORDER)
    leaves = [leaf_hash(i, h) for i, h in zip(t["id"].to_pylist(), t["content_hash"].to_pylist())]
    return t.append_column("leaf", pa.array(leaves, pa.binary(32)))


def write_leaves(path: Path, table: pa.Table) -> None:
    """One data shard's Merkle leaves (a ``leaf_table``). They are hashed where the shard is written
    (in the workers, in parallel), so ``finalize`` and ``forget`` only fold them into trees."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table.select(["id", "content_hash", "leaf"]), tmp)
    tmp.replace(path)


def read_leaves(path: Path) -> pa.Table:
    """A leaves file as a ``leaf_table`` (hashed here for a file written before leaves carried them)."""
    t = pq.ParquetFile(path).read()
    if "leaf" in t.column_names:
        return t.select(["id", "content_hash", "leaf"])
    return leaf_table(t.column("id").to_pylist(), t.column("content_hash").to_pylist())


def leaf_list(col: pa.ChunkedArray) -> list[bytes]:
    """32-byte leaves as Python bytes, sliced from the column's buffer (4x faster than to_pylist)."""
    arr = col.combine_chunks()
    if arr.null_count:
        raise ReleaseError("a leaves file has empty leaf hashes")
    buf = arr.buffers()[1].to_pybytes()[arr.offset * 32:(arr.offset + len(arr)) * 32]
    return [buf[k:k + 32] for k in range(0, len(buf), 32)]


def sorted_leaf_batches(files: list[Path], batch: int = 1 << 16) -> Iterator[list[bytes]]:
    """The leaf hashes of sorted leaves files in global (id, content_hash) order, a list at a time."""
    for t in sorted_tables(files, ["leaf"], batch):
        if "leaf" in t.column_names and not t["leaf"].null_count:
            yield leaf_list(t["leaf"])
        else:
            yield [leaf_hash(i, h) for i, h in zip(t["id"].to_pylist(), t["content_hash"].to_pylist())]


def sorted_tables(files: list[Path], extra: list[str], batch: int = 1 << 16) -> Iterator[pa.Table]:
    """Sorted leaves files merged in global (id, content_hash) order, a table at a time: a k-way
    merge in Arrow batches (the rows up to the smallest last key of the current batches of the files
    with rows still unread are final; they are sorted together), so memory stays at one batch per
    file. A file read to its end does not hold the cut back: small files go out in one sort. A file
    of at most ``batch`` rows is read whole when opened: an open batch reader holds its decoding
    buffers (~3 MB a file), which for the many small leaves files of a release (``thresher update``:
    every version's shards) was most of the memory of the merge."""
    readers: list[Iterator[pa.RecordBatch]] = []
    bufs: list[pa.Table | None] = []
    left: list[int] = []            # rows of each file not read yet
    for p in files:
        pf = pq.ParquetFile(p)
        cols = ["id", "content_hash"] + [c for c in extra if c in pf.schema_arrow.names and c not in ("id", "content_hash")]
        if pf.metadata.num_rows <= batch:
            readers.append(iter(()))
            bufs.append(pf.read(columns=cols))
            left.append(0)
            continue
        readers.append(pf.iter_batches(batch_size=batch, columns=cols))
        bufs.append(None)
        left.append(pf.metadata.num_rows)
    while True:
        for i, it in enumerate(readers):
            buf = bufs[i]
            if buf is None or not buf.num_rows:
                b = next(it, None)
                bufs[i] = pa.Table.from_batches([b]) if b is not None else None
                left[i] -= b.num_rows if b is not None else 0
        live = [t for t in bufs if t is not None and t.num_rows]
        if not live:
            return
        open_ = [t for t, n in zip(bufs, left) if n > 0 and t is not None and t.num_rows]
        if not open_:               # every file read to its end: all that is buffered is final
            ready = live
            bufs = [None] * len(bufs)
        else:
            cut_id, cut_h = min((t["id"][-1].as_py(), t["content_hash"][-1].as_py()) for t in open_)
            ready = []
            for i, t in enumerate(bufs):
                if t is None or not t.num_rows:
                    continue
                ids, hs = t["id"], t["content_hash"]
                n = pc.sum(pc.or_(pc.less(ids, cut_id), pc.and_(pc.equal(ids, cut_id),
                                                                pc.less_equal(hs, cut_h)))).as_py() or 0
                ready.append(t.slice(0, n))
                bufs[i] = t.slice(n)
        yield pa.concat_tables(ready, promote_options="permissive").sort_by([("id", "ascending"),
                                                                              ("content_hash", "ascending")])


def finalize(out: Path, cfg: "PipelineConfig", shards: list["ShardSpec"], stages: int,
             planned: dict[str, str] | None = None, jit: dict[str, float] | None = None) -> None:
    """stats.json and manifest.json of a finished run of ``stages`` stages. ``planned``: each input's
    hash when the run was planned; an input that changed since then fails the run, naming the file."""
    stats, outputs = Stats(), {}
    for stage in range(stages):
        for s in shards:
            m = orjson.loads(marker_path(out, stage, s.index).read_bytes())
            stats = stats + Stats.from_json(m["stats"])
            outputs.update(m["outputs"])
    for p in sorted(clusters_dir(out).rglob("*.parquet")):    # dedup cluster tables are outputs too
        outputs[p.relative_to(out).as_posix()] = {"rows": pq.ParquetFile(p).metadata.num_rows,
                                                  "sha256": file_sha256(p)}
    stats.jit.update(jit or {})         # kernels compiled in the parent (fits); the shards' are in their markers
    stats_json = stats.to_json()
    write_json(stats_path(out), stats_json, sort_keys=False)     # steps stay in pipeline order
    leaves = [leaves_path(out, s.index) for s in shards]
    docs = sum(pq.ParquetFile(p).metadata.num_rows for p in leaves)
    inputs = sorted({f for s in shards for f in s.files})
    hashes = {f: input_hash(f) for f in inputs}
    for f, h in (planned or {}).items():
        if hashes.get(f, h) != h:
            raise ReleaseError(f"{f}: input changed while the run read it; re-run with --overwrite")
    root_dir = Path(shards[0].root) if shards else out
    manifest = {
        "name": cfg.name,
        "format_version": 1,
        "config": cfg.recipe(),
        "config_hash": cfg.config_hash(),
        "tools": tool_versions(),
        "inputs": [{"path": Path(f).resolve().relative_to(root_dir).as_posix() if Path(f).resolve().is_relative_to(root_dir) else f,
                    "bytes": Path(f).stat().st_size, "xxh3_128": hashes[f]} for f in inputs],
        "outputs": dict(sorted(outputs.items())),
        "documents": docs,
        "excluded_documents": sum(v["rows"] for k, v in outputs.items() if k.startswith("excluded/")),
        "merkle": {"algorithm": "rfc6962-sha256", "leaf": "sha256(0x00 || id || 0x00 || sha256(text) hex)",
                   "root": root(chain.from_iterable(sorted_leaf_batches(leaves)))},
        "parent": None,
    }
    layout = layout_path(out)         # a release ordered by source: its shards' key ranges
    if layout.exists():
        manifest["layout"] = {k: v for k, v in orjson.loads(layout.read_bytes()).items() if k != "cuts"}
    gov = governance_state(out)        # written by the governance build hook, if a ledger applied
    if gov.exists():
        manifest["governance"] = orjson.loads(gov.read_bytes())
    write_signed_manifest(out, manifest)
    complete_path(out).write_text(manifest["merkle"]["root"])


def child_versions(release: Path) -> list[Path]:
    """Sibling folders whose manifest names ``release`` as its parent (written by ``forget``)."""
    release = Path(release)
    if not release.parent.is_dir():
        return []
    out = []
    for p in sorted(release.parent.iterdir()):
        m = manifest_path(p)
        if p != release and p.name.startswith(release.name + "@") and m.is_file():
            parent = orjson.loads(m.read_bytes()).get("parent")
            if isinstance(parent, dict) and parent.get("path") == f"../{release.name}":
                out.append(p)
    return out


def is_release_or_run(path: Path) -> bool:
    """A folder thresher wrote: a finished release or a run in progress."""

    return manifest_path(path).is_file() or run_state(path).is_file()


def write_signed_manifest(out: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Write ``manifest.json`` covering ``stats.json`` too, signed with the custodian's key (created in
    the project's governance folder on first use), and the public key as ``custodian.pub``."""
    from .signing import Signer, custodian_dir, sign_manifest

    signer = Signer(custodian_dir(out))
    manifest = sign_manifest({**manifest, "stats_sha256": file_sha256(stats_path(out))}, signer)
    write_json(manifest_path(out), manifest)
    pub = out / "custodian.pub"
    if not pub.is_file() or pub.read_text().strip() != signer.public_key:
        tmp = pub.with_name(pub.name + ".tmp")
        tmp.write_text(signer.public_key + "\n")
        tmp.replace(pub)
    write_loader_readme(out, manifest)
    return manifest


def write_loader_readme(out: Path, manifest: dict[str, Any]) -> None:
    """``README.md`` at the release's root: the YAML ``configs`` header by which Hugging Face
    ``datasets.load_dataset(RELEASE)`` reads ``data/`` as the default config and ``excluded/`` as
    ``excluded`` (without it, it would read every Parquet file of the folder, cluster tables included,
    as one split), and where the card is. Not signed: it says nothing the manifest does not."""
    parts = [("default", DATA)] + ([("excluded", EXCLUDED)] if manifest.get("excluded_documents") else [])
    lines = ["---", "configs:"]
    for name, folder in parts:
        lines += [f"- config_name: {name}"] + (["  default: true"] if name == "default" else []) + [
            "  data_files:", "  - split: train", f"    path: {folder}/*.parquet"]
    lines += ["---", f"# {manifest.get('name', out.name)} (a thresher release)", "",
              f"Kept documents are in `{DATA}/`, dropped ones in `{EXCLUDED}/`; `{MANIFEST}` (signed) lists every file.",
              "The data card is `card/README.md` (`thresher card RELEASE` writes it); `thresher publish RELEASE DEST`",
              "copies the public part into a folder ready for the Hugging Face Hub.", ""]
    path = readme_path(out)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    tmp.replace(path)
MANIFEST_KEYS = ("merkle", "outputs", "documents")


class Release:
    """Read access to a release folder."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not manifest_path(self.path).is_file():
            raise ReleaseError(f"{self.path}: not a thresher release (no {MANIFEST})")

    @property
    def manifest(self) -> dict[str, Any]:
        """The manifest, checked for what every reader of it relies on; a damaged one is a ReleaseError
        naming the file."""
        p = manifest_path(self.path)
        try:
            m = orjson.loads(p.read_bytes())
        except orjson.JSONDecodeError as e:
            raise ReleaseError(f"{p}: not valid JSON ({e}); the manifest is truncated or damaged") from None
        if not isinstance(m, dict):
            raise ReleaseError(f"{p}: not a thresher manifest (a JSON {type(m).__name__}, not an object)")
        missing = [k for k in MANIFEST_KEYS if k not in m]
        if missing:
            raise ReleaseError(f"{p}: not a complete thresher manifest (no {', '.join(missing)})")
        if not (isinstance(m["merkle"], dict) and isinstance(m["merkle"].get("root"), str)
                and isinstance(m["outputs"], dict)):
            raise ReleaseError(f"{p}: damaged manifest (merkle.root or outputs has the wrong type)")
        return m

    @property
    def stats(self) -> Stats:
        p = stats_path(self.path)
        try:
            d = orjson.loads(p.read_bytes())
            if not isinstance(d, dict):
                raise TypeError(type(d).__name__)
            return Stats.from_json(d)
        except FileNotFoundError:
            raise ReleaseError(f"{p}: missing") from None
        except (orjson.JSONDecodeError, TypeError, KeyError, AttributeError, ValueError) as e:
            raise ReleaseError(f"{p}: not valid thresher stats ({e})") from None

    def files(self, kind: str = "data") -> list[Path]:
        return sorted((self.path / kind).glob("*.parquet"))

    def find(self, doc_id: str) -> tuple[str, dict[str, Any]] | None:
        """('data' | 'excluded', row) for a document id, or None."""
        for kind in ("data", "excluded"):
            files = self.files(kind)
            if not files:
                continue
            import pyarrow.dataset as ds     # here: it imports pandas (0.7 s), which no pipeline needs

            t = ds.dataset([str(f) for f in files], format="parquet").to_table(filter=pc.field("id") == doc_id)
            if t.num_rows:
                return kind, t.slice(0, 1).to_pylist()[0]
        return None

    def why(self, doc_id: str) -> dict[str, Any]:
        found = self.find(doc_id)
        if found is None:
            raise ReleaseError(f"{self.path}: no document with id '{doc_id}' (kept or excluded)")
        kind, row = found
        out = {"id": doc_id, "status": "kept" if kind == "data" else "excluded",
               "source": orjson.loads(row["source"]), "meta": orjson.loads(row["meta"]),
               "chars": len(row["text"]), "sha256": hashlib.sha256(row["text"].encode("utf-8", "surrogatepass")).hexdigest()}
        trace = out["meta"].get("excluded_text")
        if not row["text"] and isinstance(trace, dict):     # a text-less trace keeps the text's length and hash
            out["chars"], out["sha256"] = trace.get("chars", 0), trace.get("sha256", out["sha256"])
        if kind == "excluded":
            out["dropped_by"] = {"step": row["step"], "reason": row["reason"], "score": row["score"],
                                 "threshold": row["threshold"]}
        return out


