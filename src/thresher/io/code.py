"""Code reader (``format: code``): one document per source file of one repository or a folder of them.

A repository is a plain folder, a git repository (read at HEAD without a checkout; point ``path`` at a
ref file such as ``repo/.git/refs/tags/v1.0`` to read that commit), or a .tar.gz/.zip archive. Every
document carries ``source`` = {repo, commit, path, size, language, kind, blob, license_evidence}: the
evidence is what the repository's LICENSE/COPYING/README/package files say (each file's best SPDX
match), scanned once per repository here so ``license_detect`` can annotate every file with its
repository's license without seeing the other files.

Skipped and counted in the reader stats (``skipped_<why>``): vendored paths (node_modules/, vendor/,
third_party/ ...), minified and generated files (lock files, protobuf stubs), binary files, files over
1 MiB (as The Stack v1), files in no known language, unreadable blobs and broken notebooks.
"""
from __future__ import annotations

from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from ..code import languages as L
from ..code import repos as R
from ..document import Document, stable_id
from . import ShardSpec, decode, size_groups

MAX_FILE_BYTES = 1 << 20
DEFAULT_SHARD_MB = 64.0


def _repo_of(f: str | Path, root: Path) -> tuple[str, Path] | None:
    """(kind, repo path) of an input file under the folder-classification rule; None for VCS internals."""
    rel = str(f)[len(str(root)) + 1:].split("/")
    if any(p in (".git", ".hg", ".svn") for p in rel[:-1]):
        return None
    return _kind_of(str(root), rel[0], rel[1] if len(rel) > 2 else None, len(rel) == 2 and R.is_archive(rel[1]))


@lru_cache(maxsize=65536)
def _kind_of(root: str, top_name: str, child_name: str | None, top_archive: bool) -> tuple[str, Path]:
    """Cached per folder: a folder's kind is looked up once, not once per file."""
    top = Path(root) / top_name
    if R.classify(str(top)) == "single":
        return ("git", top) if R.git_dir_of(top) else ("folder", top)
    if child_name is None:
        return ("archive", top) if top_archive else ("loose", top)
    child = top / child_name
    return ("git", child) if R.git_dir_of(child) else ("folder", child)


def _ranges(entries: list[R.Entry], shard_bytes: int) -> list[tuple[int, int]]:
    """Split a sorted entry list into [start, end) ranges of about shard_bytes."""
    out, start, size = [], 0, 0
    for i, e in enumerate(entries):
        size += e.size
        if size >= shard_bytes:
            out.append((start, i + 1))
            start, size = i + 1, 0
    if start < len(entries) or not out:
        out.append((start, len(entries)))
    return out


def plan(files: list[Path], root: Path, cfg: Any) -> list[dict[str, Any]]:
    shard_bytes = int(getattr(cfg, "shard_mb", DEFAULT_SHARD_MB) * 2**20)
    root = root.resolve()
    if len(files) == 1 and R.enclosing_git_dir(files[0]) is not None:      # a ref file: that commit
        git_dir = R.enclosing_git_dir(files[0])
        rev = getattr(cfg, "revision", None) or R.rev_from_ref_file(files[0])
        commit = R.resolve_commit(git_dir, rev)                             # fails early on a bad ref
        return [{"files": (str(files[0]),), "start": a, "end": b, "options": {"commit": commit}}
                for a, b in _ranges(R.git_entries(git_dir, commit), shard_bytes)]
    if len(files) == 1 and R.is_archive(files[0]):
        return [{"files": (str(files[0]),), "start": a, "end": b}
                for a, b in _ranges(R.archive_entries(files[0]), shard_bytes)]
    loose: list[Path] = []
    git_repos: dict[Path, None] = {}
    archives: list[Path] = []
    for f in files:
        where = _repo_of(f, root)
        if where is None:
            continue
        kind, path = where
        if kind == "git":
            git_repos.setdefault(path)
        elif kind == "archive":
            archives.append(f)             # (the cached answer names its folder; the archive is f)
        else:
            loose.append(f)
    out: list[dict[str, Any]] = []
    for repo in git_repos:
        git_dir = R.git_dir_of(repo)
        head = git_dir / "HEAD"
        # resolved once here: every shard reads the same commit even if HEAD moves during the run
        commit = R.resolve_commit(git_dir, getattr(cfg, "revision", None) or "HEAD")
        entries = R.git_entries(git_dir, commit)
        out.extend({"files": (str(head),), "start": a, "end": b, "options": {"commit": commit}}
                   for a, b in _ranges(entries, shard_bytes))
    for a in archives:
        out.extend({"files": (str(a),), "start": s, "end": e}
                   for s, e in _ranges(R.archive_entries(a), shard_bytes))
    out.extend(size_groups(loose, shard_bytes))
    return out


def _display(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.name


class _Repo:
    """One repository being read: its name, commit, entries and the license evidence of its top."""

    def __init__(self, kind: str, name: str, commit: str | None, entries: list[R.Entry], reader: Any):
        self.kind, self.name, self.commit, self.entries, self.reader = kind, name, commit, entries, reader
        self._evidence: list[dict[str, Any]] | None = None
        self.skipped: Counter = Counter()      # archive members never read (links, unsafe paths)

    def evidence(self, all_entries: list[R.Entry]) -> list[dict[str, Any]]:
        if self._evidence is None:
            from ..code.license import is_evidence_path, repo_evidence

            wanted = [e for e in all_entries if is_evidence_path(e.path) and e.size <= MAX_FILE_BYTES]
            texts = {e.path: raw for e, raw in self.reader(wanted) if raw is not None}
            self._evidence = repo_evidence(texts)
        return self._evidence


def _shard_repos(spec: ShardSpec) -> Iterator[tuple[_Repo, list[R.Entry]]]:
    """The repositories of a shard with their full entry lists (for license evidence)."""
    root = Path(spec.root)
    first = Path(spec.files[0])
    if spec.end is not None:                 # git or archive: entries [start, end) of one repository
        git_dir = R.enclosing_git_dir(first)
        if git_dir is not None and not R.is_archive(first):
            commit = spec.options.get("commit") or R.resolve_commit(git_dir, R.rev_from_ref_file(first))
            work = git_dir.parent if git_dir.name == ".git" else git_dir
            entries = R.git_entries(git_dir, commit)
            repo = _Repo("git", _display(work, root), commit, entries[spec.start:spec.end],
                         lambda es, g=git_dir: R.read_git(g, es))
        else:
            entries = R.archive_entries(first)
            repo = _Repo("archive", _display(first, root), None, entries[spec.start:spec.end],
                         lambda es, a=first: R.read_archive(a, es, MAX_FILE_BYTES))
            repo.skipped = R.archive_skips(first) if spec.start == 0 else Counter()   # counted once
        yield repo, entries
        return
    groups: dict[tuple[str, Path], list[str]] = {}
    for f in spec.files:
        where = _repo_of(f, root)
        if where is not None:
            groups.setdefault(where, []).append(f)
    for (kind, path), fs in groups.items():
        if kind == "loose":        # files at the top of a folder of repositories: one repository of them
            top = [path / n for n in sorted(p.name for p in path.iterdir() if p.is_file())]
            all_entries = R.folder_entries(path, top)
        else:
            all_entries = [e for n in _top_names(path) for e in R.folder_entries(path, n)]
        repo = _Repo("folder", _display(path, root), None, R.folder_entries(path, fs), R.read_folder)
        yield repo, all_entries


def _top_names(path: Path) -> list[list[Path]]:
    """The files license evidence can come from: the repository's top and its LICENSES/ folder."""
    out = [[p for p in path.iterdir() if p.is_file()]] if path.is_dir() else []
    lic = path / "LICENSES"
    if lic.is_dir():
        out.append([p for p in lic.iterdir() if p.is_file()])
    return out


def read(spec: ShardSpec, counters: Counter) -> Iterator[Document]:
    for repo, all_entries in _shard_repos(spec):
        counters.update(repo.skipped)
        evidence = repo.evidence(all_entries)
        todo = []
        for e in repo.entries:
            counters["files_seen"] += 1
            why = L.skip_reason(e.path)
            if why is None and e.size > MAX_FILE_BYTES:
                why = "too_large"
            if why is None and not L.may_be_code(e.path):
                why = "unknown_language"      # decided by name; names without extension wait for a shebang
            if why is not None:
                counters[f"skipped_{why}"] += 1
            else:
                todo.append(e)
        for e, raw in repo.reader(todo):
            doc = _document(repo, e, raw, evidence, counters)
            if doc is not None:
                counters["docs_read"] += 1
                yield doc


def _document(repo: _Repo, e: R.Entry, raw: bytes | None, evidence: list[dict[str, Any]],
              counters: Counter) -> Document | None:
    if raw is None:
        counters["skipped_unreadable"] += 1
        return None
    if len(raw) > MAX_FILE_BYTES:          # its real size: an archive header may understate it
        counters["skipped_too_large"] += 1
        return None
    counters["bytes_read"] += len(raw)
    lang = L.language_of(e.path, raw[:256])
    if lang is None:
        counters["skipped_unknown_language"] += 1
        return None
    if L.looks_binary(raw):
        counters["skipped_binary"] += 1
        return None
    text, enc = decode(raw)
    extra: dict[str, Any] = {}
    if lang == "Jupyter Notebook":
        try:
            text, extra["notebook_language"] = L.notebook_to_text(text)
        except ValueError:
            counters["skipped_bad_notebook"] += 1
            return None
    if L.looks_minified(text, lang):
        counters["skipped_minified"] += 1
        return None
    locator = f"{repo.name}@{repo.commit}:{e.path}" if repo.commit else f"{repo.name}:{e.path}"
    source: dict[str, Any] = {"repo": repo.name, "commit": repo.commit, "path": e.path, "size": len(raw),
                              "language": lang, "kind": repo.kind}
    if repo.kind == "git":
        source["blob"] = e.key
    if enc != "utf-8":
        source["encoding"] = enc
    source.update(extra)
    source["license_evidence"] = evidence
    return Document(stable_id(locator), text, source, {"language": lang, "modality": "code"})
