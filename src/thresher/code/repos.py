"""Repositories as lists of (path, size) entries whose bytes can be read: a plain folder, a git repository
at a commit (read with ``git ls-tree`` / ``git cat-file --batch``: nothing is checked out, bare
repositories work), or a .tar.gz/.tgz/.tar/.tar.bz2/.tar.xz/.zip archive. Entry lists are sorted by
path, so a shard can be "entries [start, end) of repository R" and every worker sees the same list.

Where an input folder holds one repository or many is decided by one rule (`classify`), used by the
planner and again by the reader, so both agree without passing state around.
"""
from __future__ import annotations

import os
import posixpath
import stat
import subprocess
import tarfile
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from ..errors import InputError

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".zip")
# A folder with one of these at its top is a project, not a folder of projects.
PROJECT_MARKERS = ("license", "licence", "copying", "unlicense", "setup.py", "setup.cfg", "pyproject.toml",
                   "package.json", "cargo.toml", "go.mod", "pom.xml", "build.gradle", "cmakelists.txt",
                   "makefile", "gemfile", "composer.json", ".gitignore", "mix.exs", "stack.yaml")


@dataclass(frozen=True)
class Entry:
    path: str          # posix path inside the repository
    size: int
    key: str           # how to read it: a file path, a blob sha, or an archive member name


def is_archive(path: str | Path) -> bool:
    return str(path).lower().endswith(ARCHIVE_SUFFIXES)


def git_dir_of(path: Path) -> Path | None:
    """The git directory of a work tree (``.git``) or a bare repository, else None."""
    dot = path / ".git"
    if dot.is_dir():
        return dot
    if dot.is_file():   # a worktree or submodule: ".git" holds "gitdir: <path>"
        text = dot.read_text(encoding="utf-8", errors="replace").strip()
        if text.startswith("gitdir:"):
            g = Path(text[7:].strip())
            return g if g.is_absolute() else (path / g).resolve()
    if (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir():
        return path
    return None


def enclosing_git_dir(file: Path) -> Path | None:
    """For a file inside a git directory (HEAD, refs/tags/v1 ...), that git directory."""
    for parent in file.parents:
        if (parent / "HEAD").is_file() and (parent / "objects").is_dir() and (parent / "refs").is_dir():
            return parent
    return None


@lru_cache(maxsize=256)
def classify(folder: str) -> str:
    """``single`` when the folder is one repository (git, or has a LICENSE/build file at its top),
    ``multi`` when it is a folder of repositories (each child folder or archive is one)."""
    p = Path(folder)
    if git_dir_of(p) is not None:
        return "single"
    try:
        names = os.listdir(p)
    except OSError:
        return "single"
    files = []
    for child in names:
        c = p / child
        if (c.is_dir() and git_dir_of(c) is not None) or (c.is_file() and is_archive(child)):
            return "multi"
        if c.is_file():
            files.append(child.lower())
    # project FILES only: a child folder named like one (``Unlicense/``, ``makefile-tools/``) is a repository
    if any(n.startswith(PROJECT_MARKERS) for n in files):
        return "single"
    return "multi"


# ---------------------------------------------------------------- plain folders

def folder_entries(root: Path, files: list[Path] | list[str] | None = None) -> list[Entry]:
    """Every file under root (or the given files), skipping VCS metadata directories."""
    if files is None:
        files = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d not in (".git", ".hg", ".svn"))
            files.extend(os.path.join(dirpath, f) for f in filenames)
    out = []
    prefix = len(str(root)) + 1
    for f in files:
        try:
            st = os.lstat(f)           # one system call; symlinks are not followed (not code of this repo)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            out.append(Entry(str(f)[prefix:].replace(os.sep, "/"), st.st_size, str(f)))
    out.sort(key=lambda e: e.path)
    return out


def read_folder(entries: list[Entry]) -> Iterator[tuple[Entry, bytes | None]]:
    for e in entries:
        try:
            with open(e.key, "rb") as f:
                yield e, f.read()
        except OSError:
            yield e, None


# ---------------------------------------------------------------- git

def _git(git_dir: Path, *args: str) -> bytes:
    try:
        r = subprocess.run(["git", f"--git-dir={git_dir}", *args], capture_output=True, check=False)
    except FileNotFoundError:
        raise InputError("the code reader needs the git command line tool on PATH") from None
    if r.returncode != 0:
        msg = r.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(f"{git_dir}: git {args[0]} failed: {msg[-1] if msg else r.returncode}")
    return r.stdout


def resolve_commit(git_dir: Path, rev: str = "HEAD") -> str:
    """The full sha of a revision (branch, tag, short sha, HEAD)."""
    return _git(git_dir, "rev-parse", "--verify", "--end-of-options", f"{rev}^{{commit}}").decode().strip()


def rev_from_ref_file(ref_file: Path) -> str:
    """A revision named by a file inside a git directory: HEAD, or refs/heads/x, refs/tags/y."""
    git_dir = enclosing_git_dir(ref_file)
    if git_dir is None:
        raise InputError(f"{ref_file}: not inside a git directory")
    return ref_file.relative_to(git_dir).as_posix()


def git_entries(git_dir: Path, commit: str) -> list[Entry]:
    """Blobs of a commit's tree (regular and executable files; symlinks and submodules are not code)."""
    out = []
    for rec in _git(git_dir, "ls-tree", "-r", "-l", "-z", "--full-tree", commit).split(b"\0"):
        if not rec:
            continue
        head, _, path = rec.partition(b"\t")
        mode, typ, sha, size = head.split()
        if typ != b"blob" or mode not in (b"100644", b"100755"):
            continue
        out.append(Entry(path.decode("utf-8", "surrogateescape"), int(size), sha.decode()))
    out.sort(key=lambda e: e.path)
    return out


def read_git(git_dir: Path, entries: list[Entry]) -> Iterator[tuple[Entry, bytes | None]]:
    """Stream blobs through one ``git cat-file --batch`` process (one request at a time: no pipe deadlock)."""
    if not entries:
        return
    proc = subprocess.Popen(["git", f"--git-dir={git_dir}", "cat-file", "--batch"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    stdin, stdout = proc.stdin, proc.stdout
    if stdin is None or stdout is None:      # cannot happen with PIPE; keeps the type checker honest
        raise InputError(f"{git_dir}: could not start git cat-file")
    try:
        for e in entries:
            stdin.write(e.key.encode() + b"\n")
            stdin.flush()
            header = stdout.readline().split()
            if len(header) != 3:        # "<sha> missing"
                yield e, None
                continue
            size = int(header[2])
            data = stdout.read(size)
            stdout.read(1)              # the newline after each object
            yield e, data
    finally:
        stdin.close()
        stdout.close()
        proc.wait()


# ---------------------------------------------------------------- archives

def _strip_prefix(names: list[str]) -> str:
    """GitHub-style archives wrap everything in one folder (repo-main/); paths drop it."""
    tops = {n.split("/", 1)[0] for n in names}
    if len(tops) == 1 and all("/" in n for n in names):
        return tops.pop() + "/"
    return ""


def safe_member_path(name: str) -> str | None:
    """An archive member's path, normalised (``./a//b`` -> ``a/b``), or None when it is absolute or
    climbs out of the archive (``../``): such a path is never published nor used."""
    name = name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    norm = posixpath.normpath(name)
    if norm == "." or norm == ".." or norm.startswith("../"):
        return None
    return norm


def _archive_infos(path: Path) -> tuple[list[tuple[str, int]], Counter]:
    """(member name, size) of an archive's regular files, and what was skipped: links (never read:
    a link's target is not the repository's code and may point out of the input) and unsafe paths."""
    skipped: Counter = Counter()
    infos = []
    try:
        if path.name.lower().endswith(".zip"):
            with zipfile.ZipFile(path) as z:
                for i in z.infolist():
                    if i.is_dir():
                        continue
                    if stat.S_ISLNK(i.external_attr >> 16):
                        skipped["skipped_link"] += 1
                    elif safe_member_path(i.filename) is None:
                        skipped["skipped_unsafe_path"] += 1
                    else:
                        infos.append((i.filename, i.file_size))
        else:
            with tarfile.open(path, "r:*") as t:
                for m in t.getmembers():
                    if m.issym() or m.islnk():
                        skipped["skipped_link"] += 1
                    elif not m.isreg():
                        continue
                    elif safe_member_path(m.name) is None:
                        skipped["skipped_unsafe_path"] += 1
                    else:
                        infos.append((m.name, m.size))
    except (OSError, tarfile.TarError, zipfile.BadZipFile, EOFError) as e:
        raise InputError(f"{path}: unreadable archive: {e}") from None
    return infos, skipped


def archive_skips(path: Path) -> Counter:
    """What ``archive_entries`` leaves out of an archive (links, unsafe paths), counted."""
    return _archive_infos(path)[1]


def archive_entries(path: Path) -> list[Entry]:
    infos, _ = _archive_infos(path)
    norm = [(safe_member_path(n) or "", s, n) for n, s in infos]
    prefix = _strip_prefix([p for p, _, _ in norm])
    out = [Entry(p[len(prefix):], s, n) for p, s, n in norm if p[len(prefix):]]
    out.sort(key=lambda e: e.path)
    return out


def read_archive(path: Path, entries: list[Entry], limit: int | None = None) -> Iterator[tuple[Entry, bytes | None]]:
    """Members' bytes, read by their real size: at most ``limit + 1`` bytes of each are decompressed
    (a header that understates a member's size cannot make this hold more)."""
    n = -1 if limit is None else limit + 1
    if path.name.lower().endswith(".zip"):
        with zipfile.ZipFile(path) as z:
            for e in entries:
                try:
                    with z.open(e.key) as f:
                        yield e, f.read(n)
                except (KeyError, zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError):
                    yield e, None
        return
    wanted = {e.key: e for e in entries}
    seen = set()
    # tar is sequential: one pass in archive order, then the (already sorted) caller sees archive order.
    try:
        with tarfile.open(path, "r:*") as t:
            for m in t:
                e = wanted.get(m.name)
                if e is None or not m.isreg() or m.name in seen:
                    continue
                seen.add(m.name)
                f = t.extractfile(m)
                yield e, f.read(n) if f is not None else None
    except (OSError, tarfile.TarError, EOFError, zlib.error):
        pass                              # a cut or corrupt archive: the members not reached are unreadable
    for k, e in wanted.items():
        if k not in seen:
            yield e, None
