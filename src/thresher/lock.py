"""Exclusive use of an output folder by one run, and workers that die with the run.

Two runs writing one release would race on the same temporary shard files; the second run instead
stops at once and names the holder. The lock is an ``flock`` on a file in the release's work folder,
so the kernel releases it when the holder dies, even by ``kill -9``: a stale lock file never blocks.
"""
from __future__ import annotations

import ctypes
import fcntl
import os
import signal
import socket
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .errors import ReleaseError
from .paths import WORK

LOCK_NAME = f"{WORK}/lock"
GRACE_S = 0.5


@contextmanager
def output_lock(out: Path) -> Iterator[None]:
    """Hold the output folder's lock for the duration of a run; raises ReleaseError naming the holder."""
    path = out / LOCK_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + GRACE_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() < deadline:     # the workers of a run just killed are still exiting
                    time.sleep(0.05)
                    continue
            holder = os.pread(fd, 512, 0).decode("utf-8", "replace").strip() or "another process"
            raise ReleaseError(f"{out}: another thresher run is writing this output folder ({holder}); "
                               "wait for it to finish or use another output path") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, (f"pid {os.getpid()} on {socket.gethostname()}, started "
                       f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\n").encode(), 0)
        yield
    finally:
        os.close(fd)            # releases the flock (the file stays: its content names the last holder)


PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int | None = None) -> None:
    """Worker initialiser: the kernel kills this process when its parent dies (Linux), so a run killed
    with ``kill -9`` leaves no orphan workers writing shards. Elsewhere a no-op."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if parent is not None and os.getppid() != parent:     # the parent died before prctl took effect
        os._exit(1)
