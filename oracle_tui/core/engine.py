"""What a DuckDB job may use: its memory limit (the default in one place), DuckDB's share of
it and the threads it carries. Pure arithmetic, no DuckDB import, so the CLI's and the
inspector's texts can state the budget without loading the engine."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from oracle_tui.core.errors import OracleError

# Every DuckDB job's memory limit unless the operator gives one (--memory-limit).
DEFAULT_MEMORY_LIMIT = "2GB"
MEMORY_LIMIT_RE = re.compile(r"(?i)(?P<number>\d+(?:\.\d+)?)\s*"
                             r"(?P<unit>b|kb|mb|gb|tb|kib|mib|gib|tib)")

_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "kib": 2**10,
          "mib": 2**20, "gib": 2**30, "tib": 2**40, "bytes": 1}


def size_bytes(text: str) -> int:
    """'1GB', '256MB', '1.5GiB' as bytes; anything else is INPUT_INVALID."""
    m = MEMORY_LIMIT_RE.fullmatch(text.strip())
    if m is None:
        raise OracleError("INPUT_INVALID", f"memory limit {text[:40]!r} is not a size such as "
                                           "512MB, 2GB or 1.5GiB")
    return int(float(m["number"]) * _UNITS[m["unit"].lower()])


# What each thread of a job costs (measured, docs/performance.md): inside DuckDB's own limit
# (its sort and writer state), and outside it (Arrow buffers, allocator slack), above a base
# of Python and the libraries. A job's process stays within its limit + 300 MB.
THREAD_INSIDE = 16 * 2**20
THREAD_OUTSIDE = 40 * 2**20
BASE_OUTSIDE = 150 * 2**20
HEADROOM = 300 * 10**6


@dataclass(frozen=True)
class EngineBudget:
    """How a DuckDB job runs within its memory limit: DuckDB's share and the threads the
    limit carries (never more than asked for, or than this machine's cores)."""

    memory_limit: str  # as the operator gave it
    engine_limit: str  # DuckDB's part of it
    threads: int
    notice: str | None = None  # said when --threads was lowered

    def record(self) -> dict[str, Any]:
        return {"memory_limit": self.memory_limit, "threads": self.threads}


def budget(memory_limit: str, threads: int | None = None) -> EngineBudget:
    """The threads ``memory_limit`` carries: per-thread state multiplies by the thread count
    while the limit stays fixed, so a 256 MB job on 16 cores runs on 4 threads instead of
    running out of memory."""
    total = size_bytes(memory_limit)
    engine = total * 80 // 100
    outside = total - engine + HEADROOM - BASE_OUTSIDE
    carried = max(1, min(engine // THREAD_INSIDE, outside // THREAD_OUTSIDE))
    wanted = threads or os.cpu_count() or 1
    used = max(1, min(wanted, carried))
    notice = None
    if threads and threads > used:
        notice = (f"--threads {threads} lowered to {used}: a memory limit of {memory_limit} "
                  f"carries {carried} thread(s) within the limit + 300 MB")
    return EngineBudget(memory_limit, engine_share(memory_limit), used, notice)


def engine_share(limit: str) -> str:
    """DuckDB's part of a job's memory limit. DuckDB keeps its buffer pool within its own
    limit, but writers, readers and thread states come on top (measured: the process peaked
    35% above DuckDB's limit at 1 GB and 70% at 256 MB, plus ~115 MiB of Python and
    libraries), so DuckDB gets 80% and the process stays within the limit + 300 MB."""
    return f"{size_bytes(limit) * 80 // 100 // 2**20}MiB"


@dataclass(frozen=True)
class EngineOptions:
    """How a command's DuckDB jobs run, as the operator asked (the defaults in one place)."""

    memory_limit: str = DEFAULT_MEMORY_LIMIT
    threads: int | None = None  # None: this machine's cores, within what the limit carries
    temp_dir: str | None = None  # DuckDB's spill folder; None: a fresh one, removed after
    executor: str | None = None  # None: the profile's; "" or "local": here; tcp://…: Dask
    scratch: str | None = None  # a cluster build's intermediate files; None: the profile's

    def budget(self) -> EngineBudget:
        return budget(self.memory_limit, self.threads)

# Every command's engine options unless the operator gives others.
DEFAULT_ENGINE = EngineOptions()
