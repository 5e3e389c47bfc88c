"""Inputs and releases on object storage or any fsspec filesystem (``s3://``, ``gs://``, ``hf://`` ...).

Object stores have no rename, so thresher never writes a release there piece by piece. The design, in
this one module:

- a remote path has a *mirror*: a local folder (``$THRESHER_MIRROR``, default
  ``~/.cache/thresher/mirror``; on a Ray cluster, a shared filesystem mounted on every node) at
  ``MIRROR/SCHEME/BUCKET/KEY``. The run works in the mirror exactly as it works on a local disk
  (atomic renames, markers, resume);
- ``pull``: remote inputs are copied into the mirror, one get per file, files already there with
  the same size kept, so the run reads local files and hashes what it read; a remote release (or
  project) is pulled before it is read (``verify``) or extended (``forget``);
- ``push``: when the run (or forget) is complete, every file it made is uploaded *in one put under
  its final name*, in this order: data and everything else, then the per-shard completion markers,
  then ``manifest.json``, and ``.thresher/complete`` (written here) last. A crash mid-upload leaves
  no ``complete`` marker: a reader refuses the release and a re-run pulls what is there (the
  markers name only shards whose files were uploaded before them) and resumes.

Credentials come from each filesystem's own environment and config (``AWS_*`` and ``~/.aws`` for
s3fs, ``GOOGLE_APPLICATION_CREDENTIALS`` for gcsfs, ``HF_TOKEN`` for ``hf://``; ``FSSPEC_S3_ENDPOINT_URL``
or ``AWS_ENDPOINT_URL`` for an S3-compatible server): never from the pipeline file or the manifest.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from .errors import InputError, ReleaseError
from .paths import MANIFEST, PUSHED, WORK, pushed_path

_URL = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://(.+)$")
_MANGLED = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]+):/([^/].*)$")     # what pathlib makes of "s3://b/k"


def url_of(path: str | Path) -> str | None:
    """The URL a path names (``s3://b/k``; also the ``s3:/b/k`` a ``Path`` makes of it), or None for a
    local path (``file://`` included)."""
    text = str(path)
    m = _URL.match(text) or _MANGLED.match(text)
    if not m or m.group(1).lower() == "file" or len(m.group(1)) == 1:   # c:/ is a drive, not a scheme
        return None
    return f"{m.group(1).lower()}://{m.group(2).rstrip('/')}"


def is_remote(path: str | Path) -> bool:
    return url_of(path) is not None


PULLED = ".pulled.json"          # in the mirror root: what each mirrored file was pulled from (size, ETag)


def mirror_root() -> Path:
    return Path(os.environ.get("THRESHER_MIRROR") or Path.home() / ".cache" / "thresher" / "mirror")


def mirror_of(url: str) -> Path:
    """The local folder (or file) a remote path is worked on in."""
    scheme, rest = url_of(url).split("://", 1)
    parts = [p for p in rest.split("/") if p not in ("", ".", "..")]
    return mirror_root().joinpath(scheme, *parts)


def filesystem(url: str) -> tuple[Any, str]:
    """(fsspec filesystem, path inside it) for a URL; a missing backend is a one-line error."""
    try:
        import fsspec
    except ImportError:
        raise InputError(f"{url}: remote paths need fsspec: pip install 'thresher[storage]'") from None
    try:
        return fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as e:
        raise InputError(f"{url}: {str(e).splitlines()[0]}") from None


def write_json(path: Path, obj: Any) -> None:
    """Atomic (temp + rename) JSON: this module's own records, kept off the io layer."""
    import orjson

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    os.replace(tmp, path)


def _has_glob(s: str) -> bool:
    return any(c in s for c in "*?[")


def _tag(info: dict) -> list:
    """What identifies a remote file's version: its size and ETag (or modification time)."""
    tag = info.get("ETag") or info.get("etag") or info.get("LastModified") or info.get("mtime") or info.get("last_commit")
    return [info.get("size"), str(tag) if tag is not None else None]


def pull(url: str, dest: Path | None = None, required: bool = True) -> Path:
    """Copy a remote file, folder or glob into its mirror (one get per file; a file pulled before
    whose size and ETag have not changed is kept); returns the local path that names the same files."""
    import orjson

    url = url_of(url) or str(url)
    dest = dest or mirror_of(url)
    fs, root = filesystem(url)
    try:
        if _has_glob(root):
            base = root[:min(root.find(c) for c in "*?[" if c in root)].rsplit("/", 1)[0]
            infos = fs.glob(root, detail=True)
            local_base = mirror_of(url.split("://")[0] + "://" + base)
        elif fs.isdir(root):
            base, infos, local_base = root, fs.find(root, detail=True), dest
        elif fs.exists(root):
            base, infos, local_base = root.rsplit("/", 1)[0], {root: fs.info(root)}, dest.parent
        else:
            infos = {}
        infos = {f: i for f, i in infos.items() if i.get("type", "file") == "file"}
        if not infos:
            if required:
                raise InputError(f"{url}: not found")
            return dest
        record_path = mirror_root() / PULLED
        record = orjson.loads(record_path.read_bytes()) if record_path.is_file() else {}
        for f in sorted(infos):
            target = local_base / f[len(base):].lstrip("/")
            if target.is_file() and record.get(str(target)) == _tag(infos[f]):
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".part")
            fs.get_file(f, str(tmp))
            os.replace(tmp, target)
            record[str(target)] = _tag(infos[f])
        write_json(record_path, record)
    except OSError as e:
        raise InputError(f"{url}: {type(e).__name__}: {e}") from None
    return dest


def _upload_order(rel: str) -> tuple[int, str]:
    """Data first, the per-shard completion markers after what they vouch for, manifests last."""
    if rel == MANIFEST or rel.endswith("/" + MANIFEST):
        return 2, rel
    if rel.startswith(f"{WORK}/done/") or f"/{WORK}/done/" in rel:
        return 1, rel
    return 0, rel


def push(local: Path, url: str) -> int:
    """Make the remote folder hold exactly the files under ``local``: each new or changed file in one
    put under its final name (data first, per-shard markers after what they vouch for, manifests
    last), then the files a release folder (one with a manifest) no longer has removed from it, then
    each release folder's ``.thresher/complete`` marker, which is taken away first while it changes.
    Lock files stay local. What this mirror already pushed unchanged (``.thresher/pushed.json``) is not put again."""
    import orjson

    fs, root = filesystem(url)
    local = Path(local)
    done = f"{WORK}/complete"
    record_path = pushed_path(local)
    record = orjson.loads(record_path.read_bytes()) if record_path.is_file() else {}
    rels = sorted((p.relative_to(local).as_posix() for p in local.rglob("*") if p.is_file() and not p.is_symlink()
                   and not p.name.endswith((".tmp", ".part"))), key=_upload_order)
    rels = [r for r in rels if not r.endswith((done, f"{WORK}/{PUSHED}", "lock", ".lock"))]     # locks stay here
    releases = sorted({r[:-len(MANIFEST)] for r in rels if r == MANIFEST or r.endswith("/" + MANIFEST)})
    n = 0
    try:
        remote = {f[len(root):].lstrip("/") for f in fs.find(root)} if fs.exists(root) else set()
        changed = []
        for rel in rels:
            st = (local / rel).stat()
            if record.get(rel) != [st.st_size, st.st_mtime_ns] or rel not in remote:
                changed.append((rel, [st.st_size, st.st_mtime_ns]))
        for prefix in releases:
            if f"{prefix}{done}" in remote and any(r.startswith(prefix) for r, _ in changed):
                fs.rm_file(f"{root}/{prefix}{done}")
        for rel, stamp in changed:
            fs.put_file(str(local / rel), f"{root}/{rel}")
            record[rel] = stamp
            n += 1
            if n % 64 == 0:
                write_json(record_path, record)
        stale = sorted(r for r in remote - set(rels) if not r.endswith(done)      # inside a pushed release only
                       and any(r.startswith(prefix) for prefix in releases))
        if stale:
            fs.rm([f"{root}/{r}" for r in stale])
        for prefix in releases:         # one put each, last
            if changed or f"{prefix}{done}" not in remote:
                with fs.open(f"{root}/{prefix}{done}", "wb") as f:
                    f.write(b"ok\n")
                n += 1
    except OSError as e:
        raise ReleaseError(f"{url}: upload failed: {type(e).__name__}: {e} (re-run to resume)") from None
    finally:
        write_json(record_path, record)
    return n


def is_complete(url: str) -> bool:
    fs, root = filesystem(url)
    return fs.exists(f"{root}/{WORK}/complete")


def local_release(path: str | Path) -> Path:
    """A release (or project folder) to read: itself when local, else its pulled mirror; a remote one
    without its ``complete`` marker (an upload that stopped) is refused."""
    url = url_of(path)
    if url is None:
        return Path(path)
    fs, root = filesystem(url)
    if not fs.exists(root):
        raise ReleaseError(f"{url}: not found")
    if fs.exists(f"{root}/{MANIFEST}") and not is_complete(url):
        raise ReleaseError(f"{url}: upload incomplete (no {WORK}/complete); re-run the command that wrote it")
    return pull(url)


def push_back(path: str | Path, local: Path) -> None:
    """After a command changed ``local``, the mirror of remote ``path``: push it (nothing when local)."""
    url = url_of(path)
    if url is not None:
        push(local, url)


def stage_config(cfg: Any) -> tuple[Any, str | None]:
    """A pipeline config whose remote inputs are pulled into their mirror and whose remote output is
    its mirror (pulled first, so a re-run resumes from what an interrupted upload left); returns
    (config to run, the output URL to push to, or None)."""
    changed: dict[str, Any] = {}
    inputs = []
    for inp in cfg.inputs():
        paths = [str(pull(p)) if is_remote(p) else p for p in inp.paths()]
        if paths != inp.paths():
            inp = inp.model_copy(update={"path": paths if isinstance(inp.path, list) else paths[0]})
            inp._base_dir = cfg.base_dir
        inputs.append(inp)
    if any(a is not b for a, b in zip(inputs, cfg.inputs())):
        changed["input"] = inputs if isinstance(cfg.input, list) else inputs[0]
    url = url_of(cfg.output.path)
    if url is not None:
        local = pull(url, required=False)
        changed["output"] = cfg.output.model_copy(update={"path": str(local)})
    if not changed:
        return cfg, None
    new = cfg.model_copy(update=changed)
    for inp in new.inputs():
        inp._base_dir = new.base_dir
    return new, url


def publish(out: Path, url: str | None) -> None:
    """After a complete run: upload the mirror's release to its URL (``push``)."""
    if url is not None:
        push(out, url)
