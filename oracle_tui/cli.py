"""The `oracle-tui` command line: a thin face over oracle_tui.core.

stdout carries only the report (or JSON with --json); diagnostics go to stderr. Every error
is one line with its reason code. Exit codes: 0 PASS/WARN · 1 FAIL · 2 usage/config ·
3 could not finish, retry.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn, cast

from pydantic import ValidationError

from oracle_tui import __version__, startup
from oracle_tui.core.codes import CODES, code_info
from oracle_tui.core.diff_ask import DiffAsk
from oracle_tui.core.engine import DEFAULT_MEMORY_LIMIT, EngineOptions
from oracle_tui.core.errors import OracleError
from oracle_tui.core.interface_pack import InterfacePack
from oracle_tui.core.outcome import (
    EXIT_FAIL,
    EXIT_OK,
    EXIT_USAGE,
    exit_code_of_error,
)
from oracle_tui.core.pack import OpenedPack
from oracle_tui.core.profiles import Profile, load_profile
from oracle_tui.core.progress import Cancelled
from oracle_tui.core.redact import RedactingStream, display_model, printable, redact
from oracle_tui.core.requests import (
    Address,
    BuildRequest,
    CheckRequest,
    DiffRequest,
    SealRequest,
    TombstoneRequest,
    VerifyRequest,
)
from oracle_tui.stopped import say_stopped

if TYPE_CHECKING:
    from rich.console import Console

# Rich and the renderers load only when something is rendered: `--json` and error paths
# stay fast to start (this matters for scripted checks and the digest benchmark).

EXIT_PIPE_CLOSED = 141  # the output's reader closed the pipe, as a shell reports SIGPIPE
PIPE_WIDTH = 1000  # wide enough for any path, id or detail the tool prints on one line


class UsageError(Exception):
    """A mistake in how the command was called: exit 2, with the code that names it."""

    def __init__(self, message: str, code: str = "INPUT_INVALID") -> None:
        super().__init__(message)
        self.code = code


def cut(value: str, keep: int = 60) -> str:
    """An operator's value as an error echoes it: whole when short, else its start and its
    length (a 20,000-character id never makes a 20,000-character line)."""
    return value if len(value) <= keep else f"{value[:keep]}… ({len(value):,} characters)"


# The largest count any option takes (threads, rows, rows per part): beyond it a value is a
# typo, refused before it reaches an engine.
MAX_COUNT = 10**12
# What a DuckDB job can run in at all, and the most any machine has.
MIN_MEMORY_LIMIT, MAX_MEMORY_LIMIT = 64 * 10**6, 2**40


def _whole_number(text: str, minimum: int, maximum: int = MAX_COUNT) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{cut(text)!r} is not a whole number") from exc
    if not minimum <= value <= maximum:
        raise argparse.ArgumentTypeError(f"{cut(text)} is not between {minimum:,} and "
                                         f"{maximum:,}")
    return value


def _positive_int(text: str) -> int:
    return _whole_number(text, 1)


def _memory_limit(text: str) -> str:
    """A size such as 512MB or 2GB, checked when the command line is read: a bad one is a
    usage error before any store is asked anything."""
    from oracle_tui.core.engine import size_bytes

    try:
        size = size_bytes(text)
    except OracleError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None
    if not MIN_MEMORY_LIMIT <= size <= MAX_MEMORY_LIMIT:
        raise argparse.ArgumentTypeError(f"memory limit {cut(text)!r} is not between 64MB "
                                         "and 1TiB")
    return text


def _executor(text: str) -> str:
    """'local' or a Dask scheduler address tcp://HOST:PORT (tls:// too)."""
    from urllib.parse import urlparse

    if text in ("", "local"):
        return text
    url = urlparse(text)
    try:
        port = url.port
    except ValueError:
        port = None
    if url.scheme not in ("tcp", "tls") or not url.hostname or port is None or url.path \
            or url.query or url.username:
        raise argparse.ArgumentTypeError(f"{cut(text)!r} is neither 'local' nor a Dask "
                                         "scheduler address such as tcp://host:8786")
    return text


def _scenario_id(text: str) -> str:
    """A scenario id as a partition value may be: letters, digits, '_', '.', '-'."""
    from oracle_tui.core.world import SCENARIO_RE

    if not SCENARIO_RE.match(text):
        raise argparse.ArgumentTypeError(f"{printable(cut(text))!r} is not a scenario id "
                                         "(letters, digits, '_', '.', '-')")
    return text


def _thread_count(text: str) -> int:
    return _whole_number(text, 1, 4096)


def _row_examples(text: str) -> int:
    return _whole_number(text, 0, 1_000_000)


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from exc
    if not 0 <= value < 2**64:
        raise argparse.ArgumentTypeError("the seed must be in [0, 2^64)")
    return value


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, printable(f"oracle-tui: INPUT_INVALID: usage error: {message} "
                                        "(see --help)") + "\n")


class _TrimmedLines:
    """A text stream that writes whole lines without trailing spaces: a report piped into a
    file, a CI log or `tail` is as wide as its content, not padded to the console width."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._pending = ""

    def write(self, text: str) -> int:
        lines = (self._pending + text).split("\n")
        self._pending = lines.pop()
        for line in lines:
            self._inner.write(line.rstrip() + "\n")
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._inner.write(self._pending.rstrip())
            self._pending = ""
        self._inner.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _console(stream: Any) -> Console:
    """A console for ``stream``. Everything printed is data: file names, reasons and details
    are never read as markup or emoji codes (a file named "[/x]" must print as itself).
    Piped into a file or a CI log, no width applies: every value prints whole (no wrapping
    at 80 columns, no digest cut by "…") and no line is padded."""
    from rich.console import Console

    class PipeAware(Console):
        def on_broken_pipe(self) -> None:
            # Rich exits 1 here, which reads as FAIL: main() reports a closed pipe itself.
            self.quiet = True
            raise BrokenPipeError

    if stream.isatty():
        return PipeAware(soft_wrap=False, markup=False, emoji=False,
                         file=cast("IO[str]", RedactingStream(stream)))
    return PipeAware(soft_wrap=False, markup=False, emoji=False, width=PIPE_WIDTH,
                     file=cast("IO[str]", RedactingStream(_TrimmedLines(stream))))


def _out() -> Console:
    return _console(sys.stdout)


def _err() -> Console:
    return _console(sys.stderr)


def _emit_json(obj: Any) -> None:
    sys.stdout.write(redact(json.dumps(obj, indent=2, sort_keys=False, default=str)) + "\n")


def _profile(args: argparse.Namespace) -> Profile:
    return load_profile(args.profile, args.profiles_dir)


def _address(args: argparse.Namespace) -> Address:
    """Where this command runs, as asked: ROOT (or the profile's oracle_root), the profile,
    the interface pack, the scenario."""
    return Address(root=_root(args, _profile(args)), profile=args.profile,
                   profiles_dir=args.profiles_dir,
                   interface_pack=getattr(args, "interface_pack", None),
                   scenario_id=getattr(args, "scenario_id", None))


def _open(args: argparse.Namespace) -> OpenedPack:
    """The ROOT (or the profile's oracle_root) opened for this command, as asked."""
    return _address(args).open()


def _known_outputs(output_ids: Sequence[str] | None, catalogue: InterfacePack) -> list[str]:
    """The asked-for outputs, each in the catalogue: a typo is a usage error (exit 2) that
    names the closest ids, never a FAIL of the pack."""
    import difflib

    for oid in output_ids or ():
        if oid not in catalogue.outputs:
            close = difflib.get_close_matches(oid, list(catalogue.outputs), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else \
                f" (the catalogue in {catalogue.source} has {len(catalogue.outputs)} outputs)"
            raise UsageError(f"unknown output id '{printable(cut(oid))}'{hint}", "OUTPUT_UNKNOWN")
    return list(output_ids or ())


def _root(args: argparse.Namespace, profile: Profile) -> str:
    if args.root:
        root: str = args.root
        return root
    default = profile.wiring("oracle_root") or ""
    if not default:
        raise UsageError("no ROOT given and the profile has no oracle_root; give ROOT (a "
                         "folder or s3://bucket/prefix/)")
    if "://" not in default and not Path(default).exists():
        raise UsageError(f"no ROOT given, and the profile's oracle_root ({default}) does not "
                         "exist here; give ROOT (a folder or s3://bucket/prefix/)")
    return default


def _with_progress(label: str, enabled: bool,
                   job: Callable[[Callable[[int, int], None]], Any], judges: bool = False) -> Any:
    """Run ``job(progress)`` under a Rich progress bar on stderr when it is a terminal. A job
    that ``judges`` (its answer is a verdict) and that an interrupt reached is the operator's
    interrupt, whatever it returned: a step that DuckDB's "interrupted" error failed would
    otherwise read as a FAIL. A write that returned has been made, and says so."""
    result = _run_job(label, enabled, job)
    if judges and _Interrupts.seen:
        raise KeyboardInterrupt
    return result


def _run_job(label: str, enabled: bool,
             job: Callable[[Callable[[int, int], None]], Any]) -> Any:
    if not enabled or not sys.stderr.isatty():
        return job(lambda done, total: None)
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    console = _err()
    with Progress(TextColumn(label), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeRemainingColumn(), console=console, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return job(update)


def _confirm(question: str, assume_yes: bool) -> None:
    if assume_yes:
        return
    if not sys.stdin.isatty():
        raise UsageError("refusing to write without confirmation: stdin is not a terminal; "
                         "pass --yes")
    answer = input(f"{question} [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise UsageError("not confirmed; nothing was written")


# -- commands -----------------------------------------------------------------------------

def cmd_check(args: argparse.Namespace) -> int:
    at = _address(args)
    target = at.open()
    # Validation means checksums (bagit's choice): contents are re-hashed unless --quick.
    request = CheckRequest(at=at, quick=args.quick, strict_seal=args.strict_seal,
                           output_ids=tuple(_known_outputs(args.output_id,
                                                           target.interface_pack)),
                           threads=args.threads)
    report = _with_progress("hashing", not request.quick and not args.json,
                            lambda progress: request.run(target, progress), judges=True)
    if args.json:
        _emit_json(report.model_dump(mode="json"))
    else:
        from oracle_tui import cli_render

        out = _out()
        plain = not sys.stdout.isatty()
        # Piped: plain lines, never wrapped (soft wrap), each value whole.
        out.print(cli_render.check_report(display_model(report), plain=plain,
                                          width=out.width), soft_wrap=plain)
    code: int = report.exit_code
    return code


def cmd_explain(args: argparse.Namespace) -> int:
    from oracle_tui import cli_render

    if args.all:
        for code in CODES:
            _out().print(cli_render.explain(code_info(code)))
        return EXIT_OK
    if not args.code:
        raise UsageError("name a reason code, or pass --all")
    code = args.code.strip().upper()
    if code not in CODES:
        import difflib

        close = difflib.get_close_matches(code, list(CODES), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else \
            " (try `oracle-tui explain --all`)"
        raise UsageError(f"unknown reason code {printable(cut(args.code))!r}{hint}")
    info = code_info(code)
    if args.json:
        _emit_json(info.model_dump(mode="json"))
    else:
        _out().print(cli_render.explain(info))
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from oracle_tui.core.demo import VARY_OUTPUT, generate_demo_world_to

    if args.vary_output is not None and not args.vary:
        raise UsageError("--vary-output names the output --vary changes: give --vary N too")
    profile = _profile(args)
    store = profile.open_store(args.out)
    world = _with_progress("generating", True, lambda progress: generate_demo_world_to(
        args.out, store, events=args.events, seed=args.seed, scenario_id=args.scenario_id,
        vary=args.vary, vary_output=args.vary_output or VARY_OUTPUT, progress=progress))
    varied = f", varied: {args.vary} values changed, {args.vary} rows missing and " \
        f"{args.vary} extra in {args.vary_output or VARY_OUTPUT}" if args.vary else ""
    _err().print(f"demo world: {world.events:,} events per output, {world.files} files, "
                 f"{world.bytes:,} bytes, scenario_id={world.world_key.scenario_id}{varied}")
    print(printable(world.root))
    if args.open:
        return _run_tui(world.root, args.profile, args.profiles_dir, None,
                        world.world_key.scenario_id, read_only=False)
    return EXIT_OK


def cmd_seal(args: argparse.Namespace) -> int:
    request = SealRequest(at=_address(args), scenario_id=args.scenario_id,
                          engine_release=args.engine_release, threads=args.threads)
    root = request.at.root
    target = request.open()
    plan, _ = request.plan(target)
    if not args.json:
        from oracle_tui import cli_render

        _err().print(cli_render.seal_plan(display_model(plan)))
    if plan.refused:
        raise plan.refusal()
    if plan.files_to_write and not args.yes:
        _confirm(f"Write {', '.join(plan.files_to_write)} under {printable(root)}?", args.yes)
        target = request.open()  # an operator took time to answer: seal what is there now
    result = _with_progress("sealing", not args.json,
                            lambda progress: request.run(target, progress))
    if args.json:
        _emit_json(result.model_dump(mode="json"))
    else:
        _out().print(f"{result.status} {result.oracle_pack_id} "
                     f"(wrote: {', '.join(result.written) or 'nothing'})")
    if not root.startswith("s3://"):
        _err().print("Sealed packs are write-once: do not edit, add or remove files under "
                     f"{printable(root)} by hand (stream_view/ excepted); any change fails "
                     "every later check. Replace a bad pack with a new root and tombstone "
                     "this one.")
    return EXIT_OK


def cmd_tombstone(args: argparse.Namespace) -> int:
    from oracle_tui.core.tombstone import answer_if_tombstoned

    at = _address(args)
    # The operator's values are checked as the request is made, before any preview.
    request = TombstoneRequest(at=at, reason=args.reason, authority=args.authority,
                               replacement=args.replacement)
    root = at.root
    pack = at.open()
    # A pack that has a tombstone gets its answer without a preview, a question or a write.
    result = answer_if_tombstoned(pack, reason=args.reason, authority=args.authority,
                                  replacement_root=args.replacement)
    if result is None:
        # What will be written, whole, before anything is (a terminal, a script or CI alike).
        _err().print("\n".join([
            f"will write _TOMBSTONE.json (create-if-absent, for good) at {root}:",
            f"  reason       {args.reason}", f"  authority    {args.authority}",
            f"  replacement  {args.replacement or '(none)'}"]))
        _confirm(f"Tombstone {printable(root)} for good (reason: {printable(args.reason)!r})?",
                 args.yes)
        result = request.run(pack)
    if args.json:
        _emit_json(result.model_dump(mode="json"))
    else:
        _out().print(f"{result.status} {printable(root)} (pack id: "
                     f"{printable(result.oracle_pack_id or 'unsealed')})")
    return EXIT_OK


def cmd_locate(args: argparse.Namespace) -> int:
    from oracle_tui.core.jsonio import parse_json
    from oracle_tui.core.locators import locate
    from oracle_tui.core.yamlio import read_operator_file

    target = _open(args)
    if args.verify:
        raw = read_operator_file(args.verify, "LOCATOR_INVALID", "locator file", 1024 * 1024)
        located = locate(target, locator=parse_json(raw, "LOCATOR_INVALID", args.verify),
                         quick=args.quick)
    elif args.output_id:
        _known_outputs([args.output_id], target.interface_pack)
        located = locate(target, output_id=args.output_id, quick=args.quick)
    else:
        raise UsageError("pass --output-id ID (print a locator) or --verify FILE (check one)")
    _emit_json(located.model_dump())
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    at = Address(root=args.a, profile=args.profile, profiles_dir=args.profiles_dir,
                 interface_pack=args.interface_pack, scenario_id=args.scenario_id)
    request = DiffRequest(at=at, against=args.b, profile_b=args.profile_b,
                          ask=DiffAsk(output_ids=args.output_id, examples=args.rows,
                                      quick=args.quick),
                          engine=EngineOptions(memory_limit=args.memory_limit,
                                               temp_dir=args.temp_dir, threads=args.threads))
    sides = (at.open(), request.side_b().open())
    if args.output_id:
        _known_outputs(args.output_id, sides[0].interface_pack)
    report = _with_progress("comparing", not args.json,
                            lambda progress: request.run(sides[0], sides[1], progress),
                            judges=True)
    if args.json:
        _emit_json(report.model_dump(mode="json"))
    else:
        from oracle_tui import cli_render

        _out().print(cli_render.diff_report(display_model(report)))
    code: int = report.exit_code
    return code


def cmd_stream_view(args: argparse.Namespace) -> int:
    at = _address(args)
    target = at.open()
    _known_outputs([args.output_id], target.interface_pack)
    building = args.action == "build"
    engine = EngineOptions(memory_limit=args.memory_limit, temp_dir=args.temp_dir,
                           threads=args.threads, executor=args.executor if building else None,
                           scratch=args.scratch if building else None)
    if building:
        build = BuildRequest(at=at, output_id=args.output_id, engine=engine,
                             rows_per_part=args.rows_per_part)
        result = _with_progress("sorting", not args.json,
                                lambda progress: build.run(target, progress))
        if result.notice:
            _err().print(f"note: {result.notice}")
        if args.json:
            _emit_json(result.model_dump(mode="json"))
        else:
            view = result.receipt["view"]
            run = result.receipt.get("run") or {}
            ran = (f" (built in {run['executor']}, {run['threads']} thread(s) at "
                   f"{run['memory_limit']})" if run and result.status == "BUILT" else "")
            _out().print(f"{result.status} {result.output_id}: {view['row_count']:,} rows in "
                         f"{len(result.receipt['parts'])} part(s), {view['min_ts']} .. "
                         f"{view['max_ts']}{ran}\n  {printable(result.location)}")
        return EXIT_OK
    verify = VerifyRequest(at=at, output_id=args.output_id, engine=engine, deep=args.deep)
    state = _with_progress("verifying", not args.json,
                           lambda progress: verify.run(target, progress), judges=True)
    if args.json:
        _emit_json(state.model_dump(mode="json"))
    else:
        _out().print(f"{state.state} {state.output_id}  {printable(state.location)}")
        for f in state.findings:
            _out().print(f"  {f.severity.value} {f.code}: {printable(redact(f.detail))}")
        if state.not_verified and state.state == "VALID":
            _out().print(f"  not verified: {state.not_verified}")
    code: int = state.exit_code
    return code


def _run_tui(root: str, profile: str, profiles_dir: str | None, interface_pack: str | None,
             scenario_id: str | None, read_only: bool, against: str | None = None,
             diff_outputs: tuple[str, ...] = ()) -> int:
    from oracle_tui.tui.app import make_app

    app = make_app(root, profile=profile, profiles_dir=profiles_dir,
                   interface_pack=interface_pack, scenario_id=scenario_id, read_only=read_only,
                   against=against, diff_outputs=diff_outputs)
    try:
        app.run()
    finally:
        startup.resume()
    app.settle_interface_pack()  # a catalogue that cannot be read: one line, exit 2
    return EXIT_OK


def cmd_inspect(args: argparse.Namespace) -> int:
    profile = _profile(args)
    if args.output_id:  # the operator's values first: a usage error before any terminal
        if not args.against:
            raise UsageError("--output-id on inspect names what the Diff pane compares row "
                             "by row: give --against ROOT too")
        from oracle_tui.core.interface_pack import load_interface_pack

        _known_outputs(args.output_id, load_interface_pack(args.interface_pack)
                       if args.interface_pack else profile.load_interface_pack())
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("inspect needs a terminal (stdin and stdout): for scripts and pipes "
                         "use `oracle-tui check ROOT --json`")
    root = _root(args, profile)
    return _run_tui(root, args.profile, args.profiles_dir, args.interface_pack,
                    args.scenario_id, args.read_only, args.against,
                    tuple(args.output_id or ()))


# -- parser -------------------------------------------------------------------------------

EXIT_CODES = ("exit codes: 0 PASS or WARN · 1 FAIL · 2 usage or configuration error · "
              "3 could not finish, retry (timeout, throttling, unreachable store) · "
              "130 interrupted (Ctrl-C) · 141 the output's reader closed the pipe · 143 "
              "terminated (SIGTERM)")
DIFF_EXIT_CODES = ("exit codes: 0 identical · 1 different, or a side not readable · 2 usage "
                   "or configuration error · 3 could not finish, retry · 130 interrupted · 143 "
                   "terminated")
SCENARIO_HELP = ("the world's scenario (default: the profile's, else the one scenario_id= "
                 "folder under the catalogued outputs)")
PACK_HELP = "folder holding the catalogue and gate map (default: the profile's, else built-in)"
JSON_HELP = "print one JSON object instead of the text report"
YES_HELP = ("write without asking; required when not run from a terminal (scripts, CI): "
            "the preview is still printed to stderr")


def _command(sub: Subparsers, name: str, text: str, examples: str,
             codes: str = EXIT_CODES) -> argparse.ArgumentParser:
    """A subcommand whose --help ends with examples and the exit codes."""
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help=text, description=text, epilog=f"examples:\n{examples}\n\n{codes}",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    return parser


def _common(p: argparse.ArgumentParser, root: bool = True) -> None:
    if root:
        p.add_argument("root", nargs="?", metavar="ROOT",
                       help="pack root: a folder or s3://bucket/prefix/ (default: the "
                            "profile's oracle_root)")
    p.add_argument("--profile", default="local", help="local | dev | prod (default: local)")
    p.add_argument("--profiles-dir", default=None, help="folder holding <profile>.yaml")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="oracle-tui", description="Check, seal and inspect Oracle Store packs.",
                     epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"oracle-tui {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for add in (_add_check, _add_seal, _add_tombstone, _add_locate, _add_stream_view,
                _add_diff, _add_explain, _add_demo, _add_inspect):
        add(sub)
    return parser


Subparsers = Any  # argparse's _SubParsersAction (private)


def _add_check(sub: Subparsers) -> None:
    p = _command(sub, "check", "verify a pack: gates, outputs, seal, content digests",
                 "  oracle-tui check runs/w1                      # re-hashes every file\n"
                 "  oracle-tui check runs/w1 --quick              # sizes, presence, footers\n"
                 "  oracle-tui check s3://worlds/w1/ --profile dev --json\n"
                 "  oracle-tui check runs/w1 --output-id arrival_events_5B")
    _common(p)
    p.add_argument("--interface-pack", metavar="DIR", help=PACK_HELP)
    p.add_argument("--scenario-id", type=_scenario_id, help=SCENARIO_HELP)
    p.add_argument("--strict-seal", action="store_true",
                   help="a missing seal is FAIL (the dev and prod profiles' default)")
    p.add_argument("--output-id", action="append", metavar="ID",
                   help="check only this output (repeat for more); the pack-wide checks still run")
    hashing = p.add_mutually_exclusive_group()
    hashing.add_argument("--quick", action="store_true",
                         help="sizes, presence and footers only: do not re-hash file contents "
                              "(the report says so)")
    hashing.add_argument("--verify-digests", action="store_true",
                         help="re-hash every file (the default; kept for scripts)")
    p.add_argument("--threads", type=_thread_count, default=2,
                   help="files hashed and footers read at once (default 2)")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=cmd_check)


def _add_seal(sub: Subparsers) -> None:
    p = _command(sub, "seal", "write content index, manifest, seal binding and seal "
                              "(write-once)",
                 "  oracle-tui seal runs/w1 --scenario-id baseline_v1 --engine-release 1.4.2\n"
                 "  oracle-tui seal s3://worlds/w1/ --profile dev --scenario-id baseline_v1 "
                 "--engine-release 1.4.2 --yes")
    _common(p)
    p.add_argument("--interface-pack", metavar="DIR", help=PACK_HELP)
    p.add_argument("--scenario-id", type=_scenario_id, required=True,
                   help="the world's scenario (recorded in the manifest's world key)")
    p.add_argument("--engine-release", required=True,
                   help="the engine release that wrote the world (part of the pack id); "
                        "must be the run receipt's engine_release where it records one")
    p.add_argument("--threads", type=_thread_count, default=2,
                   help="files hashed at once (default 2)")
    p.add_argument("--yes", action="store_true", help=YES_HELP)
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=cmd_seal)


def _add_tombstone(sub: Subparsers) -> None:
    p = _command(sub, "tombstone", "withdraw a pack for good (create-if-absent)",
                 "  oracle-tui tombstone runs/w1 --reason \"rng defect\" --authority ops-oncall "
                 "--replacement runs/w2")
    _common(p)
    p.add_argument("--reason", required=True, help="why (kept in _TOMBSTONE.json, shown by "
                                                   "every later check)")
    p.add_argument("--authority", required=True, help="who decided (a person, a team, a "
                                                      "ticket)")
    p.add_argument("--replacement", metavar="ROOT",
                   help="the pack that replaces this one (no credentials in it)")
    p.add_argument("--yes", action="store_true", help=YES_HELP)
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=cmd_tombstone)


def _add_locate(sub: Subparsers) -> None:
    p = _command(sub, "locate", "print or verify an output locator inside ROOT",
                 "  oracle-tui locate runs/w1 --output-id arrival_events_5B\n"
                 "  oracle-tui locate runs/w1 --verify locator.json")
    _common(p)
    p.add_argument("--interface-pack", metavar="DIR", help=PACK_HELP)
    p.add_argument("--scenario-id", type=_scenario_id, help=SCENARIO_HELP)
    p.add_argument("--output-id", help="print this output's locator, expanded")
    p.add_argument("--verify", metavar="FILE", help="verify a locator JSON file")
    p.add_argument("--quick", action="store_true",
                   help="decide on sizes, presence and footers without re-hashing the "
                        "output's files (the answer's 'verified' says so)")
    p.set_defaults(func=cmd_locate)


def _add_stream_view(sub: Subparsers) -> None:
    p = sub.add_parser("stream-view", help="build or verify a ts_utc-sorted stream view")
    svsub = p.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser,
                             required=True)
    for action, text in (("build", "sort one output into stream_view/ (write-once)"),
                         ("verify", "re-derive and compare a view's receipt")):
        q = _command(svsub, action, text,
                     f"  oracle-tui stream-view {action} runs/w1 --output-id "
                     "s3_event_stream_with_fraud_6B --memory-limit 1GB")
        _common(q)
        q.add_argument("--output-id", required=True, help="the output whose view it is")
        q.add_argument("--interface-pack", metavar="DIR", help=PACK_HELP)
        q.add_argument("--scenario-id", type=_scenario_id, help=SCENARIO_HELP)
        q.add_argument("--memory-limit", default=DEFAULT_MEMORY_LIMIT, type=_memory_limit,
                       help="the whole process stays within this + 300 MB (default 2GB)")
        q.add_argument("--temp-dir", help="where DuckDB spills (default: a temporary folder)")
        q.add_argument("--threads", type=_thread_count, default=None,
                       help="at most this many threads (default: the cores); lowered, with a "
                            "notice, to what the memory limit carries")
        q.add_argument("--json", action="store_true", help=JSON_HELP)
        if action == "build":
            q.add_argument("--rows-per-part", type=_positive_int, default=4_000_000,
                           help="target rows per part (default 4,000,000)")
            q.add_argument("--executor", metavar="ADDRESS", type=_executor,
                           help="'local' (this process) or a Dask scheduler, tcp://HOST:8786 "
                                "(default: the profile's stream_view_executor)")
            q.add_argument("--scratch", metavar="URI",
                           help="where a cluster build keeps range files and parts until "
                                "published (default: the profile's stream_view_scratch, else "
                                "s3://BUCKET/_oracle_tui_scratch/ or the temp folder)")
        else:
            q.add_argument("--deep", action="store_true",
                           help="also rebuild into scratch and compare every part's bytes "
                                "(proves content and the order of tied rows)")
        q.set_defaults(func=cmd_stream_view)


def _add_diff(sub: Subparsers) -> None:
    p = _command(sub, "diff", "are two worlds the same? identity, gates, outputs, then rows",
                 "  oracle-tui diff runs/w1 runs/w1-rerun            # a determinism audit\n"
                 "  oracle-tui diff runs/seed1 s3://worlds/seed2/ --profile-b dev\n"
                 "  oracle-tui diff runs/w1 runs/w2 --output-id arrival_events_5B --rows 20",
                 DIFF_EXIT_CODES)
    p.add_argument("a", metavar="A", help="the first root: a folder or s3://bucket/prefix/")
    p.add_argument("b", metavar="B", help="the second root")
    p.add_argument("--profile", default="local",
                   help="profile of A, and of B unless --profile-b (default: local)")
    p.add_argument("--profile-b", default=None, help="profile of B (default: --profile)")
    p.add_argument("--profiles-dir", default=None, help="folder holding <profile>.yaml")
    p.add_argument("--interface-pack", metavar="DIR", help=PACK_HELP)
    p.add_argument("--scenario-id", type=_scenario_id, help=SCENARIO_HELP + "; the same for both")
    p.add_argument("--output-id", action="append", metavar="ID",
                   help="compare only this output, rows too even when the worlds differ in "
                        "identity (repeat for more)")
    p.add_argument("--rows", type=_row_examples, default=10, metavar="N",
                   help="differing rows shown per output (default 10, at most 1,000,000)")
    p.add_argument("--quick", action="store_true",
                   help="compare fully sealed sides by their content indexes without "
                        "re-hashing their bytes (the answer says so); by default both sides "
                        "are re-hashed")
    p.add_argument("--memory-limit", default=DEFAULT_MEMORY_LIMIT, type=_memory_limit,
                   help="the row comparison stays within this + 300 MB (default 2GB)")
    p.add_argument("--temp-dir", help="where DuckDB spills (default: a temporary folder)")
    p.add_argument("--threads", type=_thread_count, default=None,
                   help="at most this many threads (default: what the memory limit carries)")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=cmd_diff)


def _add_explain(sub: Subparsers) -> None:
    p = _command(sub, "explain", "what a reason code means and what to do",
                 "  oracle-tui explain GATE_EVIDENCE_MISMATCH\n  oracle-tui explain --all")
    p.add_argument("code", nargs="?", help="a reason code, e.g. DIGEST_MISMATCH")
    p.add_argument("--all", action="store_true", help="every code")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(func=cmd_explain)


def _add_demo(sub: Subparsers) -> None:
    p = _command(sub, "demo", "generate a realistic demo world",
                 "  oracle-tui demo --out /tmp/world --events 100000\n"
                 "  oracle-tui demo --out /tmp/world-v --events 100000 --vary 5   # same world, "
                 "5 rows changed, 5 missing, 5 extra\n"
                 "  oracle-tui demo --out s3://worlds/w1/ --profile dev")
    p.add_argument("--out", default="runs/demo-world",
                   help="a new (or empty) folder or s3:// prefix for the engine run root")
    p.add_argument("--events", type=_positive_int, default=20_000, help="rows per output")
    p.add_argument("--seed", type=_seed, default=42, help="the world's seed (default 42)")
    p.add_argument("--scenario-id", type=_scenario_id, default="baseline_v1",
                   help="the world's scenario")
    p.add_argument("--vary", type=lambda text: _whole_number(text, 0), default=0, metavar="N",
                   help="the same world (same identity, still readable) with N values changed, "
                        "N rows missing and N rows extra in one output: what `diff` shows row "
                        "by row")
    p.add_argument("--vary-output", default=None, metavar="ID",
                   help="the output --vary changes (default s3_event_stream_with_fraud_6B)")
    p.add_argument("--open", action="store_true", help="open the inspector on it")
    p.add_argument("--profile", default="local", help="local | dev | prod (default: local)")
    p.add_argument("--profiles-dir", default=None, help="folder holding <profile>.yaml")
    p.set_defaults(func=cmd_demo)


def _add_inspect(sub: Subparsers) -> None:
    p = _command(sub, "inspect", "open the inspector TUI on one pack",
                 "  oracle-tui inspect runs/w1\n  oracle-tui inspect s3://worlds/w1/ --profile "
                 "dev --read-only\n  oracle-tui inspect runs/w1 --against runs/w1-rerun")
    _common(p)
    p.add_argument("--interface-pack", metavar="DIR", help=PACK_HELP)
    p.add_argument("--scenario-id", type=_scenario_id, help=SCENARIO_HELP)
    p.add_argument("--read-only", action="store_true", help="hide every write action")
    p.add_argument("--against", metavar="ROOT",
                   help="another world to compare with: a Diff pane (7) with the levels of "
                        "`oracle-tui diff`, down to the differing rows (Enter on an output)")
    p.add_argument("--output-id", action="append", metavar="ID",
                   help="with --against: compare only this output, down to its rows "
                        "(repeatable), as `diff --output-id` does")
    p.set_defaults(func=cmd_inspect)


class _Interrupts:
    """Whether Ctrl-C (SIGINT) or a SIGTERM (a supervisor, `kill`, a container stopping)
    reached this command: DuckDB turns it into its own error ("Query interrupted") and a
    worker into a cancel, and each of those is then the operator's interrupt, not a failure.
    Both stop a command the same way (its clean-up runs: nothing half-written stays); they
    differ only in the word and the exit status (130, 143)."""

    seen = False
    signal_name = "SIGINT"
    watching = False

    @classmethod
    def install(cls) -> None:
        import signal
        import threading

        if threading.current_thread() is not threading.main_thread():
            return  # only the main thread may set handlers (tests call main() in threads)

        def on_signal(signum: int, frame: Any) -> None:
            cls.seen = True
            cls.signal_name = "SIGTERM" if signum == signal.SIGTERM else "SIGINT"
            signal.default_int_handler(signum, frame)  # KeyboardInterrupt, for both

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        if cls.watching:
            return
        # The handler above runs only when the main thread runs Python; a DuckDB statement
        # running in C may not come back to it for hours. The signal also wakes this thread
        # (through the wakeup fd), which interrupts every open DuckDB connection.
        import os

        read_end, write_end = os.pipe()
        os.set_blocking(write_end, False)
        signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
        cls.watching = True

        def watch() -> None:
            while True:
                numbers = os.read(read_end, 64)
                if signal.SIGINT in numbers or signal.SIGTERM in numbers:
                    cls.seen = True
                    if signal.SIGTERM in numbers:
                        cls.signal_name = "SIGTERM"
                    duck = sys.modules.get("oracle_tui.core.duck")
                    if duck is not None:
                        duck.interrupt_all()

        threading.Thread(target=watch, daemon=True, name="oracle-tui-sigint").start()


def main(argv: Sequence[str] | None = None) -> int:
    _Interrupts.seen = False
    _Interrupts.signal_name = "SIGINT"
    _Interrupts.install()
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        if args.func is not cmd_inspect:  # the inspector resumes once its first screen is up
            startup.resume()
        rc: int = args.func(args)
        try:
            sys.stdout.flush()  # here, not at exit: a reader that went away is not a FAIL
        except BrokenPipeError:
            _silence_stdout()
        return rc
    except UsageError as exc:
        sys.stderr.write(printable(redact(f"oracle-tui: {exc.code}: {exc}")) + "\n")
        return EXIT_USAGE
    except ValidationError as exc:  # a request refused a value the parser let through
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        sys.stderr.write(printable(redact(f"oracle-tui: INPUT_INVALID: usage error: {where}: "
                                          f"{first['msg']}")) + "\n")
        return EXIT_USAGE
    except OracleError as exc:
        if _Interrupts.seen:
            return _interrupted()
        sys.stderr.write(printable(redact(f"oracle-tui: {exc.code}: {exc.message}")) + "\n")
        return exit_code_of_error(exc)
    except (KeyboardInterrupt, Cancelled):
        return _interrupted()
    except BrokenPipeError:
        # The reader of our output went away mid-report (`| head -1`): as the shell reports
        # a command SIGPIPE ended (141), never as a FAIL (1).
        _silence_stdout()
        return EXIT_PIPE_CLOSED
    except Exception as exc:
        if _Interrupts.seen:
            return _interrupted()
        sys.stderr.write(printable(redact(f"oracle-tui: INTERNAL_ERROR: {type(exc).__name__}: "
                                          f"{exc}"))
                         + "\n")
        return EXIT_FAIL


def _silence_stdout() -> None:
    """Nothing more goes to a pipe whose reader left (the interpreter's own flush at exit
    included)."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _interrupted() -> int:
    return say_stopped(_Interrupts.signal_name == "SIGTERM")


if __name__ == "__main__":
    raise SystemExit(main())
