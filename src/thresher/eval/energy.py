"""Energy and carbon of a piece of work, as the BigScience carbon-footprint working group asked.

Measured where a counter is readable: Intel/AMD RAPL package energy under
``/sys/class/powercap/*/energy_uj`` (the counter codecarbon reads), as the difference over the work.
Elsewhere (containers, VMs, most CI) a documented estimate: the CPU seconds of this process and its
children (``os.times``, so the sandboxed programs count) times the power of one busy core, which is
the CPU's TDP divided by its cores (codecarbon's fallback for an unknown CPU is a TDP of 85 W, used
here; ``THRESHER_CPU_TDP_W`` overrides it). Memory, disk and GPU power are not counted in the estimate.
kgCO2eq = kWh × grid intensity; the default is the world average 475 gCO2eq/kWh (IEA 2019, also
codecarbon's world default); ``THRESHER_GRID_INTENSITY`` or the ``grid_intensity`` argument sets a
local figure. Every report says which method and which intensity it used.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["EnergyMeter", "DEFAULT_GRID_INTENSITY", "DEFAULT_CPU_TDP_W"]

DEFAULT_GRID_INTENSITY = 475.0      # gCO2eq per kWh, world average (IEA 2019)
DEFAULT_CPU_TDP_W = 85.0            # codecarbon's default TDP for an unknown CPU
POWERCAP = Path("/sys/class/powercap")


def _rapl_files() -> list[Path]:
    """Package-level RAPL counters (intel-rapl:0, intel-rapl:1 …, not their subzones) we can read."""
    out = []
    for d in sorted(POWERCAP.glob("*-rapl:*")) if POWERCAP.is_dir() else []:
        f = d / "energy_uj"
        if d.name.count(":") == 1 and os.access(f, os.R_OK):
            out.append(f)
    return out


def _read_uj(files: list[Path]) -> list[int]:
    return [int(f.read_text()) for f in files]


def _cores_per_socket() -> int:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("cpu cores"):
                return max(1, int(line.split(":")[1]))
    except (OSError, ValueError):
        pass
    return os.cpu_count() or 1


def _cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class EnergyMeter:
    """``with EnergyMeter() as m: work()`` then ``m.report()``: kWh, kgCO2eq, method, intensity."""

    def __init__(self, grid_intensity: float | None = None):
        self.grid = float(grid_intensity if grid_intensity is not None
                          else os.environ.get("THRESHER_GRID_INTENSITY", DEFAULT_GRID_INTENSITY))
        self.rapl = _rapl_files()
        self._rep: dict | None = None

    def __enter__(self) -> "EnergyMeter":
        self._t0 = time.perf_counter()
        self._cpu0 = _cpu_seconds()
        self._uj0 = _read_uj(self.rapl) if self.rapl else []
        return self

    def __exit__(self, *exc) -> None:
        wall = time.perf_counter() - self._t0
        cpu = _cpu_seconds() - self._cpu0
        if self.rapl:
            joules = 0.0
            for f, a, b in zip(self.rapl, self._uj0, _read_uj(self.rapl)):
                if b < a:            # the counter wrapped
                    b += int((f.parent / "max_energy_range_uj").read_text())
                joules += (b - a) / 1e6
            method = "measured: RAPL package energy (" + ", ".join(f.parent.name for f in self.rapl) + ")"
        else:
            tdp = float(os.environ.get("THRESHER_CPU_TDP_W", DEFAULT_CPU_TDP_W))
            per_core = tdp / _cores_per_socket()
            joules = cpu * per_core
            method = (f"estimate: {cpu:.2f} CPU s (this process and children) x {per_core:.2f} W per busy core "
                      f"(TDP {tdp:g} W / {_cores_per_socket()} cores); no readable energy counter")
        kwh = joules / 3.6e6
        self._rep = {"kwh": kwh, "kg_co2eq": kwh * self.grid / 1000.0, "method": method,
                     "grid_intensity_g_per_kwh": self.grid, "wall_seconds": round(wall, 3), "cpu_seconds": round(cpu, 3)}

    def report(self) -> dict:
        if self._rep is None:
            raise RuntimeError("EnergyMeter.report() before the measured block ended")
        return self._rep
