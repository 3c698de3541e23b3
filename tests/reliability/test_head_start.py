"""The re-hash's head start (core/prehash.py): a helper process forked by the entry point
hashes a local pack's indexed files while `check` starts. Its digests may only ever spare the
command a read: the real command gives the same report with it and without it, a file that
changes after the helper read it is read again, and the helper never opens anything outside
the root, through a link, or that is not a regular file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from oracle_tui.core import prehash
from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.seal import seal_pack
from tests.conftest import HEAD_START_FOR_ALL, run_cli_here
from tests.reliability.helpers import fails, part, rel

ENTRY = [sys.executable, "-m", "oracle_tui.entry"]
BIG = "reports/bulk/big.bin"  # a file of the run's reports: a sealed pack binds it
EVERY_FILE = HEAD_START_FOR_ALL  # the helper takes every indexed file


@pytest.fixture(scope="module")
def _pristine_big(tmp_path_factory: pytest.TempPathFactory,
                  _pristine_world: DemoWorld) -> DemoWorld:
    dest = tmp_path_factory.mktemp("big") / "world"
    shutil.copytree(_pristine_world.root, dest)
    big = dest / BIG
    big.parent.mkdir(parents=True)
    big.write_bytes(os.urandom(3 * 1024 * 1024 + 17))  # above MIN_SIZE, not a window multiple
    seal_pack(str(dest), scenario_id=_pristine_world.world_key.scenario_id,
              engine_release="demo-1.0")
    return _pristine_world.model_copy(update={"root": str(dest)})


@pytest.fixture
def big_world(_pristine_big: DemoWorld, tmp_path: Path) -> DemoWorld:
    dest = tmp_path / "sealed"
    shutil.copytree(_pristine_big.root, dest)
    return _pristine_big.model_copy(update={"root": str(dest)})


def _entry(root: str, env: dict[str, str]) -> tuple[int, dict[str, Any], str]:
    res = subprocess.run([*ENTRY, "check", root, "--json"], capture_output=True, text=True,
                         timeout=300, stdin=subprocess.DEVNULL, env={**os.environ, **env})
    return res.returncode, json.loads(res.stdout), res.stderr


def _flip(path: Path, offset: int) -> None:
    """One bit changed; size and modification time kept."""
    st = path.stat()
    with open(path, "r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([byte[0] ^ 1]))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


# -- argv: which commands get a head start ---------------------------------------------------
@pytest.mark.parametrize("argv,expected", [
    (["check", "w1"], ("w1", 2)),
    (["check", "w1", "--json", "--strict-seal", "--verify-digests"], ("w1", 2)),
    (["check", "--threads", "3", "w1"], ("w1", 3)),
    (["check", "w1", "--threads=4", "--profile", "local", "--scenario-id", "s"], ("w1", 4)),
    (["check", "--", "-odd-name"], ("-odd-name", 2)),
    (["check", "w1", "--quick"], None),  # nothing is re-hashed
    (["check", "w1", "--output-id", "x"], None),  # only some files are
    (["check", "s3://bucket/w1/"], None),
    (["check"], None),  # the profile's root: not known here
    (["check", "w1", "w2"], None),
    (["check", "w1", "--threads"], None),
    (["check", "w1", "--threads", "0"], None),
    (["check", "w1", "--help"], None),
    (["seal", "w1"], None),
    (["inspect", "w1"], None),
    ([], None),
])
def test_only_a_full_check_of_a_local_folder_gets_a_head_start(
        argv: list[str], expected: tuple[str, int] | None) -> None:
    want = None if expected is None else (os.path.abspath(expected[0]), expected[1])
    assert prehash.plan(argv) == want


# -- what the helper may open -----------------------------------------------------------------
def test_the_helper_opens_only_regular_files_below_the_root_and_never_through_a_link(
        tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "a" / "b").mkdir(parents=True)
    outside.mkdir()
    (root / "a" / "b" / "f.bin").write_bytes(b"inside")
    (outside / "secret.bin").write_bytes(b"secret")
    os.symlink(outside, root / "away")  # a folder link leading out
    os.symlink(root / "a", root / "here")  # a folder link that stays inside
    os.symlink(outside / "secret.bin", root / "a" / "link.bin")
    os.mkfifo(root / "a" / "fifo")  # opening it must not block
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        got = prehash.open_below(fd, "a/b/f.bin")
        assert got is not None and os.read(got, 100) == b"inside"
        os.close(got)
        for key in ("away/secret.bin", "here/b/f.bin", "a/link.bin", "a/fifo", "a/b",
                    "a/../a/b/f.bin", "./a/b/f.bin", "/a/b/f.bin", "a//b/f.bin",
                    "a\\b\\f.bin", "a/b/f.bin\n", "", "a/b/missing", "a/\udcff"):
            assert prehash.open_below(fd, key) is None, key
    finally:
        os.close(fd)


# -- the real command: one report with the head start and without it ---------------------------
def _big(world: DemoWorld) -> Path:
    return Path(world.root) / BIG


TAMPER: dict[str, Callable[[DemoWorld], set[tuple[str, str]]]] = {}


def _case(fn: Callable[[DemoWorld], set[tuple[str, str]]]
          ) -> Callable[[DemoWorld], set[tuple[str, str]]]:
    TAMPER[fn.__name__] = fn
    return fn


@_case
def untouched(world: DemoWorld) -> set[tuple[str, str]]:
    return set()


@_case
def bit_in_the_big_file(world: DemoWorld) -> set[tuple[str, str]]:
    _flip(_big(world), 2 * 1024 * 1024 + 5)
    return {("DIGEST_MISMATCH", BIG)}


@_case
def bit_in_a_part(world: DemoWorld) -> set[tuple[str, str]]:
    p = part(world.root)
    _flip(p, 4)
    return {("DIGEST_MISMATCH", rel(world.root, p))}


@_case
def big_file_one_byte_short(world: DemoWorld) -> set[tuple[str, str]]:
    with open(_big(world), "r+b") as fh:
        fh.truncate(_big(world).stat().st_size - 1)
    return {("DIGEST_MISMATCH", BIG)}


@_case
def big_file_swapped_for_a_link_to_its_copy_outside(world: DemoWorld) -> set[tuple[str, str]]:
    copy = Path(world.root).parent / "copy.bin"
    shutil.copyfile(_big(world), copy)
    _big(world).unlink()
    os.symlink(copy, _big(world))
    return {("PATH_UNSAFE", BIG)}


@_case
def big_file_made_a_fifo(world: DemoWorld) -> set[tuple[str, str]]:
    _big(world).unlink()
    os.mkfifo(_big(world))
    return {("PATH_UNSAFE", BIG)}


@_case
def content_index_not_json(world: DemoWorld) -> set[tuple[str, str]]:
    (Path(world.root) / prehash.CONTENT_INDEX).write_bytes(b"{not json")
    return {("CONTENT_DIGEST_MISSING", prehash.CONTENT_INDEX)}


@pytest.mark.parametrize("case", sorted(TAMPER))
def test_the_real_command_says_the_same_with_and_without_the_head_start(
        big_world: DemoWorld, case: str) -> None:
    expected = TAMPER[case](big_world)
    here = run_cli_here("check", big_world.root, "--json")
    with_head_start = _entry(big_world.root, EVERY_FILE)
    without = _entry(big_world.root, {"ORACLE_TUI_NO_PREHASH": "1"})
    for code, doc, err in (with_head_start, without):
        assert "Traceback" not in err and err == here.err
        assert code == here.code == (0 if not expected else 1)
        assert fails(doc) == fails(json.loads(here.out))
        assert {(c, s) for c, s in fails(doc) if (c, s) in expected} == expected


# -- a file that changes after the helper read it ---------------------------------------------
# The command is held just before its re-hash until the helper has ended; then the file is
# changed, and the re-hash runs. The hook records, per file, whether the helper's digest
# was taken.
HOLD = """
import json, os, shutil, sys
from pathlib import Path
import oracle_tui.core.check as check_mod, oracle_tui.core.hashing as hashing
from oracle_tui.core import prehash
taken = {{}}
real_ahead = hashing._hashed_ahead
def ahead(store, key, fh, cancel):
    got = real_ahead(store, key, fh, cancel)
    taken[key] = got is not None
    return got
hashing._hashed_ahead = ahead
real_hash = check_mod._hash_content
def held(ctx):
    prehash.current()._reader.join()  # the helper has said all it will say
    {tamper}
    real_hash(ctx)
    sys.stderr.write("TAKEN " + json.dumps(taken, sort_keys=True) + "\\n")
check_mod._hash_content = held
"""

LATE = {
    "nothing": "pass",
    # Same size, same modification time: only the change time (and the bytes) differ.
    "bit flipped": "st = os.stat(Path(ROOT) / BIG); fh = open(Path(ROOT) / BIG, 'r+b'); "
                   "fh.seek(7); b = fh.read(1); fh.seek(7); fh.write(bytes([b[0] ^ 1])); "
                   "fh.close(); os.utime(Path(ROOT) / BIG, ns=(st.st_atime_ns, st.st_mtime_ns))",
    "same bytes, new file": "shutil.copyfile(Path(ROOT) / BIG, Path(ROOT) / 'x.tmp'); "
                            "os.replace(Path(ROOT) / 'x.tmp', Path(ROOT) / BIG)",
    "other bytes, new file": "data = bytearray((Path(ROOT) / BIG).read_bytes()); data[0] ^= 1; "
                             "(Path(ROOT) / 'x.tmp').write_bytes(bytes(data)); "
                             "os.replace(Path(ROOT) / 'x.tmp', Path(ROOT) / BIG)",
}


def _held_check(root: str, late: str, env: dict[str, str] | None = None,
                before: str = "") -> tuple[int, dict[str, Any], dict[str, bool], str]:
    code = (f"import sys\nROOT, BIG = {root!r}, {BIG!r}\n{before}\n"
            + textwrap.dedent(HOLD.format(tamper=LATE[late]))
            + "from oracle_tui.entry import main\n"
            + "sys.argv = ['oracle-tui', 'check', ROOT, '--json']\n"
            + "raise SystemExit(main())\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, stdin=subprocess.DEVNULL,
                         env={**os.environ, **(env or {})}, cwd=Path(__file__).parents[2])
    taken_line = [ln for ln in res.stderr.splitlines() if ln.startswith("TAKEN ")]
    taken = json.loads(taken_line[0][6:]) if taken_line else {}
    rest = "".join(ln + "\n" for ln in res.stderr.splitlines() if not ln.startswith("TAKEN "))
    return res.returncode, json.loads(res.stdout), taken, rest


@pytest.mark.parametrize("late,expected,taken", [
    ("nothing", set(), True),
    ("bit flipped", {("DIGEST_MISMATCH", BIG)}, False),
    ("same bytes, new file", set(), False),
    ("other bytes, new file", {("DIGEST_MISMATCH", BIG)}, False),
])
def test_a_file_changed_after_the_helper_read_it_is_read_again(
        big_world: DemoWorld, late: str, expected: set[tuple[str, str]], taken: bool) -> None:
    code, doc, took, err = _held_check(big_world.root, late)
    assert err == ""
    assert (code, fails(doc)) == (1 if expected else 0, expected)
    assert took[BIG] is taken  # without the helper's digest, the command read it itself


def test_with_every_file_handed_over_every_digest_comes_from_the_helper(
        big_world: DemoWorld) -> None:
    code, doc, took, err = _held_check(big_world.root, "nothing", EVERY_FILE)
    assert (code, doc["verdict"], err) == (0, "PASS", "")
    index = json.loads((Path(big_world.root) / prehash.CONTENT_INDEX).read_text())
    assert set(took) == {e["path"] for e in index["files"]}
    assert all(took.values())


def test_a_helper_killed_by_its_map_leaves_the_command_to_hash_alone(
        big_world: DemoWorld) -> None:
    """SIGBUS is what a file cut short under the helper's map raises: it ends the helper,
    silently; the command reads every file itself and says the same."""
    dying = ("import os, signal\nfrom oracle_tui.core import prehash\n"
             "prehash._helper = lambda *a: os.kill(os.getpid(), signal.SIGBUS)\n")
    code, doc, took, err = _held_check(big_world.root, "nothing", EVERY_FILE, before=dying)
    assert (code, doc["verdict"], err) == (0, "PASS", "")
    assert took and not any(took.values())


def test_ctrl_c_while_the_command_starts_ends_the_helper_too(big_world: DemoWorld) -> None:
    code = textwrap.dedent(f"""
        import builtins, sys
        from oracle_tui.core import prehash
        real = builtins.__import__
        def interrupting(name, *a, **k):
            if name == "oracle_tui.cli":
                sys.stderr.write(f"HELPER {{prehash.current().pid}}\\n"); sys.stderr.flush()
                raise KeyboardInterrupt
            return real(name, *a, **k)
        builtins.__import__ = interrupting
        from oracle_tui.entry import main
        sys.argv = ["oracle-tui", "check", {big_world.root!r}]
        raise SystemExit(main())
        """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, env={**os.environ, **EVERY_FILE})
    first, *rest = res.stderr.splitlines(keepends=True)
    assert (res.returncode, rest) == (130, ["oracle-tui: interrupted\n"])
    pid = int(first.split()[1])
    with pytest.raises(ProcessLookupError):  # ended and reaped before the command exited
        os.kill(pid, 0)

