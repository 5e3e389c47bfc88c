"""Run untrusted Python programs (model completions plus their tests) in a real sandbox.

Each program runs in its own process under bubblewrap (``bwrap``): every namespace unshared (no
network, own PID tree, own user namespace, no nested namespaces), a new root holding read-only binds
of only what the interpreter needs (``/usr`` and the interpreter's prefix), a fresh ``/proc`` and a
minimal ``/dev``, a private tmpfs as working directory and ``/tmp``, an empty environment but for
``PATH``/``LANG``/``HOME``/``THRESHER_SANDBOX`` (a tag naming the harness), ``--die-with-parent`` and a
new session. Inside, a small launcher sets hard rlimits (address space, processes, file size, CPU seconds, open files) before it runs the
program. Output goes to an unnamed host file bounded by the file-size limit. A wall-clock timeout
kills bwrap's process group; the PID namespace then takes every process of the program down with it.

Running as root, bwrap is started under an unprivileged uid (65534): the kernel never applies the
process limit to root, and with the uid dropped the limit counts the sandbox's own processes only
(process counts are kept per user namespace since Linux 5.14).

A program passes only when it exits 0 *and* the launcher, after the program returned normally,
wrote the run's nonce: ``os._exit(0)`` or ``sys.exit(0)`` before the tests is a failure.

``--allow-code-execution`` gates every use (:func:`require_permission`); without ``bwrap`` the
harness refuses unless the user asks for ``isolation="process"`` (rlimits, scrubbed environment and a
temporary directory, but the host file system and network stay reachable), which is recorded.
"""
from __future__ import annotations

import math
import os
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from ..errors import ConfigError

__all__ = ["Limits", "Outcome", "Sandbox", "require_permission"]

Isolation = Literal["bwrap", "process"]
UNPRIVILEGED_UID = 65534        # nobody: used only when the harness runs as root

# Runs inside the sandbox: reads the nonce line and the program from stdin, sets hard limits, runs the
# program as __main__, then prints the nonce. Limits are set here (not by preexec_fn) so they land
# inside the new user namespace, where the process count is the sandbox's own.
LAUNCHER = r"""
import resource as _r, sys as _s
_n = _s.stdin.readline().strip()
_src = _s.stdin.read()
_s.stdin = open('/dev/null')
for _k, _v in ((_r.RLIMIT_AS, {mem}), (_r.RLIMIT_NPROC, {nproc}), (_r.RLIMIT_FSIZE, {fsize}),
               (_r.RLIMIT_CPU, {cpu}), (_r.RLIMIT_NOFILE, 64), (_r.RLIMIT_CORE, 0)):
    _r.setrlimit(_k, (_v, _v + 1 if _k == _r.RLIMIT_CPU else _v))   # CPU: SIGXCPU first, SIGKILL 1 s later
_g = {{'__name__': '__main__', '__builtins__': __builtins__}}
import os as _o, traceback as _tb
try:
    exec(compile(_src, 'program.py', 'exec'), _g)
except SystemExit as _e:
    _s.stderr.write('SystemExit(%r) before the end of the program\n' % (_e.code,))
    _s.stderr.flush()
    _o._exit(3)
except BaseException:
    _tb.print_exc()
    _s.stderr.flush()
    _o._exit(1)
_s.stdout.flush()
_s.stdout.write('\n' + _n + '\n')
_s.stdout.flush()
_o._exit(0)
"""


@dataclass(frozen=True)
class Limits:
    """Per-program limits. ``timeout`` is wall-clock seconds for the program; ``startup`` is added for
    starting bwrap and the interpreter (tens of milliseconds idle, more on a loaded machine)."""
    timeout: float = 3.0
    startup: float = 2.0
    memory_mb: int = 1024
    processes: int = 16
    file_size_mb: int = 8

    @property
    def cpu_seconds(self) -> int:
        return max(1, math.ceil(self.timeout)) + 1


@dataclass
class Outcome:
    status: Literal["passed", "failed", "timeout"]
    returncode: int | None
    seconds: float
    output: str            # the last 2,000 characters of stdout+stderr (nonce removed)

    def to_json(self) -> dict:
        return asdict(self)


def require_permission(allow_code_execution: bool) -> None:
    if not allow_code_execution:
        raise ConfigError("executing model-generated code needs --allow-code-execution "
                          "(it runs in a bubblewrap sandbox; read the README's 'Code execution' section first)")


def _world_readable(path: Path) -> bool:
    """True when any uid can traverse to and read ``path`` (checked on every parent folder)."""
    p = path.resolve()
    if not p.exists() or not p.stat().st_mode & stat.S_IROTH:
        return False
    return all(q.stat().st_mode & stat.S_IXOTH for q in p.parents)


def _interpreter(drop: bool) -> Path:
    """The interpreter the sandbox runs: this process's base interpreter, or /usr/bin/python3 when
    the sandbox's uid could not read the former (a pyenv under /root, say). Only the standard
    library is visible inside (``-I -S``: no site-packages, no user site, no PYTHON* variables)."""
    base = Path(getattr(sys, "_base_executable", sys.executable)).resolve()
    if not drop or _world_readable(base):
        return base
    system = Path("/usr/bin/python3")
    if _world_readable(system):
        return system.resolve()
    raise ConfigError(f"{base}: not readable by the sandbox's unprivileged uid and no /usr/bin/python3")


class Sandbox:
    """Executes Python programs one process each; thread-safe (call :meth:`run` from a thread pool)."""

    def __init__(self, limits: Limits | None = None, isolation: Isolation = "bwrap"):
        self.limits = limits or Limits()
        self.isolation = isolation
        self.bwrap = shutil.which("bwrap")
        if isolation == "bwrap" and not self.bwrap:
            raise ConfigError("bwrap (bubblewrap) is not installed: `apt-get install bubblewrap`; "
                              "or pass --isolation process to run without namespaces (weaker, recorded)")
        if isolation not in ("bwrap", "process"):
            raise ConfigError(f"unknown isolation '{isolation}' (bwrap | process)")
        self.drop_uid = os.geteuid() == 0
        self.tag = secrets.token_hex(8)     # THRESHER_SANDBOX in every program's environment: finds stragglers
        self.python = _interpreter(self.drop_uid)
        lim = self.limits
        self.launcher = LAUNCHER.format(mem=lim.memory_mb << 20, nproc=lim.processes, fsize=lim.file_size_mb << 20,
                                        cpu=lim.cpu_seconds)

    def describe(self) -> dict:
        """What isolation was used, for results files and cards."""
        lim = self.limits
        out = {"isolation": self.isolation, "interpreter": str(self.python), "limits": asdict(lim) | {"cpu_seconds": lim.cpu_seconds},
               "uid": UNPRIVILEGED_UID if self.drop_uid else os.geteuid()}
        if self.isolation == "bwrap":
            ver = subprocess.run([self.bwrap, "--version"], capture_output=True, text=True).stdout.strip()
            out["bwrap"] = ver
            out["statement"] = ("bubblewrap: all namespaces unshared (no network, own PID and user namespace, nested "
                                "namespaces disabled), read-only /usr and interpreter prefix, private tmpfs working dir, "
                                "scrubbed environment, hard rlimits (address space, processes, file size, CPU), "
                                "wall-clock timeout killing the sandbox" + (", run as uid 65534" if self.drop_uid else ""))
        else:
            out["statement"] = ("WEAKER: plain process (no namespaces: host file system and network reachable); "
                                "rlimits, scrubbed environment, temporary working dir and wall-clock timeout only")
        return out

    def _bwrap_args(self) -> list[str]:
        args = [self.bwrap, "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session",
                "--uid", str(UNPRIVILEGED_UID), "--gid", str(UNPRIVILEGED_UID), "--clearenv",
                "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "LANG", "C.UTF-8", "--setenv", "HOME", "/sandbox",
                "--setenv", "TMPDIR", "/tmp", "--setenv", "THRESHER_SANDBOX", self.tag, "--ro-bind", "/usr", "/usr"]
        for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
            p = Path(top)
            if p.is_symlink():
                args += ["--symlink", os.readlink(p), top]
            elif p.is_dir():
                args += ["--ro-bind", top, top]
        prefix = self.python.parent.parent
        if not str(prefix).startswith("/usr"):
            args += ["--ro-bind", str(prefix), str(prefix)]
        args += ["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache", "--proc", "/proc", "--dev", "/dev",
                 "--size", str(64 << 20), "--tmpfs", "/tmp", "--size", str(64 << 20), "--tmpfs", "/sandbox",
                 "--remount-ro", "/", "--chdir", "/sandbox"]
        return args

    def run(self, program: str) -> Outcome:
        lim = self.limits
        nonce = secrets.token_hex(16)
        cmd = [str(self.python), "-I", "-S", "-c", self.launcher]
        workdir = None
        if self.isolation == "bwrap":
            cmd = self._bwrap_args() + ["--"] + cmd
            env = {}
            cwd = "/"
        else:
            workdir = tempfile.mkdtemp(prefix="thresher-sandbox-")
            env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": workdir, "TMPDIR": workdir,
                   "THRESHER_SANDBOX": self.tag}
            cwd = workdir
        user = dict(user=UNPRIVILEGED_UID, group=UNPRIVILEGED_UID, extra_groups=[]) if self.drop_uid else {}
        if workdir and self.drop_uid:
            os.chown(workdir, UNPRIVILEGED_UID, UNPRIVILEGED_UID)
        t0 = time.perf_counter()
        with tempfile.TemporaryFile() as out:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                    start_new_session=True, close_fds=True, **user)
            timed_out = False
            try:
                proc.communicate((nonce + "\n" + program).encode("utf-8", "surrogatepass"),
                                 timeout=lim.timeout + lim.startup)
            except subprocess.TimeoutExpired:
                timed_out = True
            except BrokenPipeError:     # the program died before reading all of its source
                pass
            finally:
                _kill_group(proc)
            seconds = time.perf_counter() - t0
            out.seek(0, os.SEEK_END)
            size = out.tell()
            out.seek(max(0, size - 4096))
            tail = out.read().decode("utf-8", "replace")
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        rc = proc.returncode
        ok = not timed_out and rc == 0 and tail.rstrip("\n").endswith(nonce)
        tail = tail.replace(nonce, "").rstrip("\n")[-2000:]
        # the CPU limit ends a busy loop before the wall clock does on an idle machine: that is a timeout too
        timed_out = timed_out or rc in (-signal.SIGXCPU, 128 + signal.SIGXCPU)
        status = "passed" if ok else ("timeout" if timed_out else "failed")
        return Outcome(status, None if timed_out else rc, round(seconds, 4), tail)


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the sandbox's process group (bwrap), then reap. Under bwrap the program's processes sit
    in a PID namespace whose init dies with bwrap (--die-with-parent), and the kernel kills the rest."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:     # pragma: no cover - a process the kernel could not kill
        pass
