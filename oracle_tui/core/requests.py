"""Operations as data: one typed request per operation, shared by every face.

A request holds everything an operation was asked (where, and its options), checks its
values when it is made (before any store is asked), runs against one
:class:`~oracle_tui.core.pack.OpenedPack` with ``progress`` and ``cancel``, and renders
itself back as the CLI's argv. The CLI builds requests from its command line; the inspector
builds the same requests and logs ``argv()`` as the command that proves what it did; the
Python API takes them too. The exit code of what a request returns follows the one rule in
core/outcome.py.
"""

from __future__ import annotations

import shlex
import threading
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, model_validator

from oracle_tui.core.diff_ask import DiffAsk
from oracle_tui.core.engine import DEFAULT_ENGINE, DEFAULT_MEMORY_LIMIT, EngineOptions
from oracle_tui.core.hashing import DEFAULT_THREADS
from oracle_tui.core.pack import OpenedPack, open_pack
from oracle_tui.core.progress import Progress, no_progress

if TYPE_CHECKING:
    from oracle_tui.core.diff import DiffReport
    from oracle_tui.core.report import CheckReport
    from oracle_tui.core.seal import SealPlan, SealResult
    from oracle_tui.core.tombstone import TombstoneResult
    from oracle_tui.core.views.build import BuildResult
    from oracle_tui.core.views.documents import ViewState

PROGRAM = "oracle-tui"
DEFAULT_ROWS_PER_PART = 4_000_000  # the build's target rows per part (cli --rows-per-part)
_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Address(BaseModel):
    """Where an operation runs, as the operator named it: the root, the profile (by name,
    and the folder it came from), the interface pack's folder, the scenario asked for."""

    model_config = _FROZEN
    root: str
    profile: str = "local"  # the one place the profile default is chosen
    profiles_dir: str | None = None
    interface_pack: str | None = None
    scenario_id: str | None = None

    def open(self) -> OpenedPack:
        """The root opened for one operation (raises OracleError for a bad profile or
        interface pack: those are the operator's configuration, not the pack's state)."""
        from oracle_tui.core.interface_pack import load_interface_pack
        from oracle_tui.core.profiles import load_profile

        profile = load_profile(self.profile, self.profiles_dir)
        catalogue = (load_interface_pack(self.interface_pack) if self.interface_pack
                     else profile.load_interface_pack())
        return open_pack(self.root, profile=profile, interface_pack=catalogue,
                         scenario_id=self.scenario_id)

    def options(self, *, catalogue: bool = True, scenario: bool = True) -> list[str]:
        """The options that name this address on a command line (defaults left out)."""
        out: list[str] = []
        if self.profile != "local":
            out += ["--profile", self.profile]
        if self.profiles_dir:
            out += ["--profiles-dir", self.profiles_dir]
        if catalogue and self.interface_pack:
            out += ["--interface-pack", self.interface_pack]
        if scenario and self.scenario_id:
            out += ["--scenario-id", self.scenario_id]
        return out


def command_line(argv: list[str]) -> str:
    """``argv`` as one shell line an operator can paste."""
    return shlex.join([PROGRAM, *argv])


def _engine_options(engine: EngineOptions, *, cluster: bool) -> list[str]:
    out: list[str] = []
    if engine.memory_limit != DEFAULT_MEMORY_LIMIT:
        out += ["--memory-limit", engine.memory_limit]
    if engine.threads is not None:
        out += ["--threads", str(engine.threads)]
    if engine.temp_dir:
        out += ["--temp-dir", engine.temp_dir]
    if cluster and engine.executor is not None:
        out += ["--executor", engine.executor or "local"]
    if cluster and engine.scratch:
        out += ["--scratch", engine.scratch]
    return out


class CheckRequest(BaseModel):
    """``check``: the default re-hashes every file; ``quick`` compares sizes, presence and
    footers only."""

    model_config = _FROZEN
    at: Address
    quick: bool = False
    output_ids: tuple[str, ...] = ()
    strict_seal: bool = False
    threads: int = Field(default=DEFAULT_THREADS, ge=1, le=4096)

    def argv(self) -> list[str]:
        out = ["check", self.at.root, *(["--quick"] if self.quick else [])]
        for oid in self.output_ids:
            out += ["--output-id", oid]
        if self.strict_seal:
            out.append("--strict-seal")
        if self.threads != DEFAULT_THREADS:
            out += ["--threads", str(self.threads)]
        return out + self.at.options()

    def run(self, pack: OpenedPack, progress: Progress = no_progress,
            cancel: threading.Event | None = None) -> CheckReport:
        from oracle_tui.core.check import run_check

        return run_check(pack, strict_seal=True if self.strict_seal else None,
                         output_ids=list(self.output_ids) or None, verify_digests=not self.quick,
                         threads=self.threads, progress=progress, cancel=cancel)


class SealRequest(BaseModel):
    """``seal``: the scenario and the engine release to record, checked against the run."""

    model_config = _FROZEN
    at: Address
    scenario_id: str
    engine_release: str
    threads: int = Field(default=DEFAULT_THREADS, ge=1, le=4096)

    @model_validator(mode="after")
    def _writable(self) -> SealRequest:
        from oracle_tui.core.inputs import MAX_RELEASE, require_text
        from oracle_tui.core.world import validate_scenario_id

        require_text(self.engine_release, "the engine release", MAX_RELEASE)  # OracleError
        validate_scenario_id(self.scenario_id)
        return self

    def open(self) -> OpenedPack:
        """The root opened for the scenario being sealed (its plan and seal share one
        listing)."""
        return self.at.model_copy(update={"scenario_id": self.scenario_id}).open()

    def argv(self) -> list[str]:
        out = ["seal", self.at.root, "--scenario-id", self.scenario_id, "--engine-release",
               self.engine_release, "--yes"]
        if self.threads != DEFAULT_THREADS:
            out += ["--threads", str(self.threads)]
        return out + self.at.options(scenario=False)

    def plan(self, pack: OpenedPack, cancel: threading.Event | None = None
             ) -> tuple[SealPlan, CheckReport]:
        from oracle_tui.core.seal import plan_seal

        return plan_seal(pack, scenario_id=self.scenario_id,
                         engine_release=self.engine_release, cancel=cancel)

    def run(self, pack: OpenedPack, progress: Progress = no_progress,
            cancel: threading.Event | None = None) -> SealResult:
        from oracle_tui.core.seal import seal_pack

        return seal_pack(pack, scenario_id=self.scenario_id, engine_release=self.engine_release,
                         threads=self.threads, progress=progress, cancel=cancel)


class TombstoneRequest(BaseModel):
    """``tombstone``: why, who decided, and what replaces the pack (checked when made)."""

    model_config = _FROZEN
    at: Address
    reason: str
    authority: str
    replacement: str | None = None

    @model_validator(mode="after")
    def _writable(self) -> TombstoneRequest:
        from oracle_tui.core.tombstone import check_tombstone_inputs

        check_tombstone_inputs(self.reason, self.authority, self.replacement)  # OracleError
        return self

    def argv(self) -> list[str]:
        out = ["tombstone", self.at.root, "--reason", self.reason, "--authority",
               self.authority]
        if self.replacement:
            out += ["--replacement", self.replacement]
        return [*out, "--yes", *self.at.options(catalogue=False, scenario=False)]

    def run(self, pack: OpenedPack, progress: Progress = no_progress,
            cancel: threading.Event | None = None) -> TombstoneResult:
        from oracle_tui.core.tombstone import tombstone_pack

        return tombstone_pack(pack, reason=self.reason, authority=self.authority,
                              replacement_root=self.replacement)


class BuildRequest(BaseModel):
    """``stream-view build``: one output sorted into its view, within the engine options."""

    model_config = _FROZEN
    at: Address
    output_id: str = Field(min_length=1)
    engine: EngineOptions = DEFAULT_ENGINE
    rows_per_part: int = Field(default=DEFAULT_ROWS_PER_PART, ge=1)

    def argv(self) -> list[str]:
        out = ["stream-view", "build", self.at.root, "--output-id", self.output_id,
               *_engine_options(self.engine, cluster=True)]
        if self.rows_per_part != DEFAULT_ROWS_PER_PART:
            out += ["--rows-per-part", str(self.rows_per_part)]
        return out + self.at.options()

    def run(self, pack: OpenedPack, progress: Progress = no_progress,
            cancel: threading.Event | None = None) -> BuildResult:
        from oracle_tui.core.views.build import build_stream_view

        return build_stream_view(pack, self.output_id, engine=self.engine,
                                 rows_per_part=self.rows_per_part, progress=progress,
                                 cancel=cancel)


class VerifyRequest(BaseModel):
    """``stream-view verify``: every claim of a view's receipt re-derived (``deep``: and
    the view rebuilt and compared)."""

    model_config = _FROZEN
    at: Address
    output_id: str = Field(min_length=1)
    engine: EngineOptions = DEFAULT_ENGINE
    deep: bool = False

    def argv(self) -> list[str]:
        out = ["stream-view", "verify", self.at.root, "--output-id", self.output_id,
               *_engine_options(self.engine, cluster=False)]
        if self.deep:
            out.append("--deep")
        return out + self.at.options()

    def run(self, pack: OpenedPack, progress: Progress = no_progress,
            cancel: threading.Event | None = None) -> ViewState:
        from oracle_tui.core.views.verify import verify_stream_view

        return verify_stream_view(pack, self.output_id, engine=self.engine, deep=self.deep,
                                  progress=progress, cancel=cancel)


class DiffRequest(BaseModel):
    """``diff A B``: two worlds compared level by level (``ask``: outputs, rows, quick)."""

    model_config = _FROZEN
    at: Address  # side A (its profile is B's too unless ``profile_b``)
    against: str = Field(min_length=1)
    profile_b: str | None = None
    ask: DiffAsk = Field(default_factory=lambda: DiffAsk())
    engine: EngineOptions = DEFAULT_ENGINE

    def side_b(self) -> Address:
        return self.at.model_copy(update={"root": self.against,
                                          "profile": self.profile_b or self.at.profile})

    def argv(self) -> list[str]:
        out = ["diff", self.at.root, self.against]
        for oid in self.ask.output_ids or ():
            out += ["--output-id", oid]
        if self.ask.examples != DiffAsk().examples:
            out += ["--rows", str(self.ask.examples)]
        if self.ask.quick:
            out.append("--quick")
        if self.profile_b and self.profile_b != self.at.profile:
            out += ["--profile-b", self.profile_b]
        return out + _engine_options(self.engine, cluster=False) + self.at.options()

    def run(self, pack: OpenedPack, other: OpenedPack, progress: Progress = no_progress,
            cancel: threading.Event | None = None) -> DiffReport:
        from oracle_tui.core.diff import diff_packs

        return diff_packs(pack, other, self.ask, engine=self.engine, progress=progress,
                          cancel=cancel)
