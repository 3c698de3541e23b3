"""Ctrl-C anywhere (issues 33 and 34): a real process, a real SIGINT, sent once the command
is in its long phase (a hook in the child says so on stderr, then waits in that phase: a
sleep, or a DuckDB statement that would run for hours). Every command prints `interrupted`,
exits 130, leaves nothing half-written and removes its own temp files, never the operator's.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from oracle_tui.core.demo import DemoWorld

READY = "READY-FOR-SIGINT"

# Hooks the child installs before it runs the command: each announces the phase on stderr,
# then stays in it until the signal comes.
SLEEP_IN = """
import time, {module} as m
real = m.{name}
def held(*a, **k):
    sys.stderr.write("{ready}\\n"); sys.stderr.flush()
    time.sleep(120)
    return real(*a, **k)
m.{name} = held
"""
DUCKDB_IN = """
import {module} as m
real = m.{name}
def held(con, *a, **k):
    sys.stderr.write("{ready}\\n"); sys.stderr.flush()
    con.execute("SELECT sum(hash(range)) FROM range(100000000000)").fetchall()
    return real(con, *a, **k)
m.{name} = held
"""


def _interrupted(args: list[str], hook: str, cwd: Path, sig: int = signal.SIGINT
                 ) -> subprocess.CompletedProcess[str]:
    code = "import sys\n" + textwrap.dedent(hook) + textwrap.dedent(f"""
        from oracle_tui.entry import main
        sys.argv = ["oracle-tui", *{args!r}]
        raise SystemExit(main())
        """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=cwd)
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:  # waits on the child's words, never on time
        seen.append(line)
        if line.strip() == READY:
            break
    else:
        proc.wait()
        raise AssertionError(f"the child ended before its long phase: {''.join(seen)}")
    os.kill(proc.pid, sig)
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:  # never leave a child running (it would hold a core)
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _tool_temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.startswith("oracle-tui-"))


def test_ctrl_c_while_check_hashes(sealed_world: DemoWorld, tmp_path: Path) -> None:
    hook = SLEEP_IN.format(module="oracle_tui.core.check", name="_hash_content", ready=READY)
    res = _interrupted(["check", sealed_world.root], hook, tmp_path)
    assert (res.returncode, res.stderr, res.stdout) == (130, "oracle-tui: interrupted\n", "")


def test_ctrl_c_while_seal_hashes_writes_nothing(world: DemoWorld, tmp_path: Path) -> None:
    before = sorted(p.name for p in Path(world.root).iterdir())
    hook = SLEEP_IN.format(module="oracle_tui.core.check", name="_hash_content", ready=READY)
    res = _interrupted(["seal", world.root, "--scenario-id", "baseline_v1",
                        "--engine-release", "demo-1.0", "--yes"], hook, tmp_path)
    assert (res.returncode, res.stderr) == (130, "oracle-tui: interrupted\n")
    assert sorted(p.name for p in Path(world.root).iterdir()) == before


def test_ctrl_c_while_duckdb_sorts_keeps_no_view_and_no_temp_file(world: DemoWorld,
                                                                   tmp_path: Path) -> None:
    temp = tmp_path / "operator-temp"
    temp.mkdir()
    (temp / "operator.parquet").write_text("the operator's")
    hook = DUCKDB_IN.format(module="oracle_tui.core.views.build", name="profile_source",
                            ready=READY)
    res = _interrupted(["stream-view", "build", world.root, "--output-id",
                        "s3_event_stream_with_fraud_6B", "--temp-dir", str(temp)], hook,
                       tmp_path)
    assert (res.returncode, res.stderr) == (130, "oracle-tui: interrupted\n")
    assert not (Path(world.root) / "stream_view").exists()
    assert _tool_temp_files(temp) == []
    assert (temp / "operator.parquet").read_text() == "the operator's"


def test_ctrl_c_in_diffs_row_stage_keeps_no_spill(world: DemoWorld, tmp_path: Path) -> None:
    import shutil

    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from tests.engine import reissue_evidence

    other = tmp_path / "other"
    shutil.copytree(world.root, other)
    part = sorted(other.glob("data/layer2/5B/arrival_events/**/part-*.parquet"))[0]
    table = pq.read_table(part)
    column = table.schema.names.index("arrival_seq")
    table = table.set_column(column, "arrival_seq", pc.add(table.column(column), 1))
    pq.write_table(table, part)
    reissue_evidence(world.model_copy(update={"root": str(other)}))
    temp = tmp_path / "operator-temp"
    temp.mkdir()
    (temp / "notes.txt").write_text("the operator's")
    # The signal comes while a DuckDB statement of the row stage's connection runs.
    hook = DUCKDB_IN.format(module="oracle_tui.core.diff", name="diff_rows", ready=READY)
    res = _interrupted(["diff", world.root, str(other), "--output-id", "arrival_events_5B",
                        "--temp-dir", str(temp)], hook, tmp_path)
    assert (res.returncode, res.stderr) == (130, "oracle-tui: interrupted\n")
    assert _tool_temp_files(temp) == []
    assert (temp / "notes.txt").read_text() == "the operator's"


def _entry_after(hook: str, argv: list[str], cwd: Path | None = None
                 ) -> subprocess.CompletedProcess[str]:
    """The entry point run as the installed command runs it, in a fresh interpreter, after
    ``hook`` (Python source) has prepared what the test needs."""
    code = textwrap.dedent(hook) + textwrap.dedent(f"""
        import sys
        from oracle_tui.entry import main
        sys.argv = ["oracle-tui", *{argv!r}]
        raise SystemExit(main())
        """)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def test_ctrl_c_during_start_up_imports(tmp_path: Path) -> None:
    res = _entry_after("""
        import builtins
        real = builtins.__import__
        def interrupting(name, *a, **k):
            if name == "oracle_tui.cli":
                raise KeyboardInterrupt
            return real(name, *a, **k)
        builtins.__import__ = interrupting
        """, ["check", "."], tmp_path)
    assert (res.returncode, res.stderr) == (130, "oracle-tui: interrupted\n")


@pytest.mark.parametrize("argv", [["--version"]])
def test_the_entry_point_runs_the_cli(argv: list[str]) -> None:
    res = subprocess.run([sys.executable, "-m", "oracle_tui.entry", *argv],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and res.stdout.startswith("oracle-tui ")


def test_sigterm_while_demo_writes_leaves_no_world(tmp_path: Path) -> None:
    """A supervisor's SIGTERM stops a command as Ctrl-C does (its clean-up runs), said as
    `terminated`, exit 143: a demo stopped half-way leaves no folder behind."""
    hook = SLEEP_IN.format(module="oracle_tui.core.demo", name="_write_bundles", ready=READY)
    res = _interrupted(["demo", "--out", str(tmp_path / "half"), "--events", "2000"], hook,
                       tmp_path, signal.SIGTERM)
    assert (res.returncode, res.stderr, res.stdout) == (143, "oracle-tui: terminated\n", "")
    assert not (tmp_path / "half").exists()


def test_sigterm_while_duckdb_sorts_keeps_no_view(world: DemoWorld, tmp_path: Path) -> None:
    hook = DUCKDB_IN.format(module="oracle_tui.core.views.build", name="profile_source",
                            ready=READY)
    res = _interrupted(["stream-view", "build", world.root, "--output-id",
                        "s3_event_stream_with_fraud_6B"], hook, tmp_path, signal.SIGTERM)
    assert (res.returncode, res.stderr) == (143, "oracle-tui: terminated\n")
    assert not (Path(world.root) / "stream_view").exists()



def test_a_sigterm_as_the_command_returns_is_still_terminated() -> None:
    """A SIGTERM that the CLI's handler turned into an interrupt just as the command
    returned reaches the entry point: it says `terminated` and 143, not Ctrl-C's words."""
    res = _entry_after("""
        import oracle_tui.cli as cli
        def returning(*a, **k):
            cli._Interrupts.seen, cli._Interrupts.signal_name = True, "SIGTERM"
            raise KeyboardInterrupt
        cli.main = returning
        """, ["--version"])
    assert (res.returncode, res.stderr) == (143, "oracle-tui: terminated\n")


@pytest.mark.parametrize("sig,said", [(signal.SIGINT, (130, "oracle-tui: interrupted\n")),
                                      (signal.SIGTERM, (143, "oracle-tui: terminated\n"))])
def test_a_signal_an_import_turns_into_another_error_is_still_an_interrupt(
        tmp_path: Path, sig: int, said: tuple[int, str]) -> None:
    """A signal during the start-up imports that an extension turns into its own error (as
    pydantic-core's Rust side does: PanicException) is the operator's interrupt, not a
    traceback and exit 1."""
    res = _entry_after(f"""
        import builtins, os
        real = builtins.__import__
        def breaking(name, *a, **k):
            if name == "oracle_tui.cli":
                try:
                    os.kill(os.getpid(), {int(sig)})
                    while True:
                        pass  # the handler runs here
                except KeyboardInterrupt:
                    raise RuntimeError("failed to import a C API") from None
            return real(name, *a, **k)
        builtins.__import__ = breaking
        """, ["check", "."], tmp_path)
    assert (res.returncode, res.stderr) == said


def test_a_check_step_an_interrupt_failed_is_no_fail_report(world: DemoWorld,
                                                            tmp_path: Path) -> None:
    """Ctrl-C reaches DuckDB as its own error, which a check step records as a finding: the
    command says `interrupted` (130), never a FAIL report (1) of a check it did not finish."""
    res = _entry_after("""
        import oracle_tui.cli as cli
        import oracle_tui.core.check as check
        from oracle_tui.core.errors import OracleError
        def interrupted_step(*a, **k):
            cli._Interrupts.seen = True  # what the CLI's handler notes on SIGINT
            raise OracleError("INTERNAL_ERROR", "INTERRUPT Error: Interrupted!")
        check._check_stream_views = interrupted_step
        """, ["check", world.root, "--json"], tmp_path)
    assert (res.returncode, res.stdout, res.stderr) == (130, "", "oracle-tui: interrupted\n")


def test_an_interrupt_out_of_code_run_from_a_string_ends_with_our_code_under_python_m(
        tmp_path: Path) -> None:
    """CPython remembers a KeyboardInterrupt that left code run from a string (imports run
    such code) and, under `python -m`, would end the process by SIGINT after our words: the
    exit status is still ours (130), not death by the signal."""
    (tmp_path / "run_entry.py").write_text(textwrap.dedent("""
        import builtins, sys
        real = builtins.__import__
        def interrupting(name, *a, **k):
            if name == "oracle_tui.cli":
                exec("raise KeyboardInterrupt")
            return real(name, *a, **k)
        builtins.__import__ = interrupting
        from oracle_tui.entry import main
        sys.argv = ["oracle-tui", "check", "."]
        raise SystemExit(main())
        """))
    res = subprocess.run([sys.executable, "-m", "run_entry"], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)
    assert (res.returncode, res.stderr) == (130, "oracle-tui: interrupted\n")


def test_an_interrupt_python_cannot_deliver_prints_no_traceback() -> None:
    """A signal that lands in a finalizer cannot be raised there: Python would print it as
    "Exception ignored" with a traceback; the command reports for itself instead."""
    res = _entry_after("""
        import oracle_tui.cli as cli
        class Finalized:
            def __del__(self):
                raise KeyboardInterrupt  # where the handler's raise would land
        def command(*a, **k):
            Finalized()
            return 0
        cli.main = command
        """, ["--version"])
    assert (res.returncode, res.stderr) == (0, "")
