"""The README, followed top to bottom in a fresh place, works without a surprise; the
documentation stands on its own (nothing links outside the repository)."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest

from tests.conftest import run_cli_here

REPO = Path(__file__).resolve().parent.parent


def _blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def test_the_readme_in_order(tmp_path: Path) -> None:
    text = (REPO / "README.md").read_text()
    using = text[text.index("## Using it"):text.index("### S3 in a few commands")]
    world = str(tmp_path / "world")
    steps: list[tuple[str, list[str]]] = []
    for kind, block in re.findall(r"```(bash|python)\n(.*?)```", using, flags=re.S):
        if kind == "python":
            steps.append(("python", [block.replace("/tmp/world", world)]))
            continue
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("oracle-tui ") and "s3://" not in line and "--executor" not in line:
                args = shlex.split(line.replace("/tmp/world", world))[1:]
                if args[0] == "demo":
                    args[args.index("--events") + 1] = "4000"
                steps.append(("cli", args))
    names = [a[0] if k == "cli" else "python" for k, a in steps]
    assert names == ["demo", "check", "seal", "check", "check", "explain", "stream-view",
                     "stream-view", "locate", "inspect", "python", "tombstone"]
    for kind, args in steps:
        if kind == "python":
            namespace: dict[str, object] = {}
            exec(args[0].replace("    ...", "    rows = batch.num_rows"), namespace)
            continue
        if args[0] == "inspect":
            continue  # the TUI: tests/tui/test_tui.py drives it
        if args[0] in ("seal", "tombstone"):
            args = [*args, "--yes"]  # the README's note: scripts pass --yes
        res = run_cli_here(*args)
        assert res.code == 0, (args, res.err)


def test_the_documentation_links_nothing_outside_the_repository() -> None:
    files = [REPO / "README.md", *(REPO / "docs").glob("*.md"),
             *(REPO / "oracle_tui").rglob("*.py")]
    for path in files:
        assert "../shared" not in path.read_text(), path
        assert "SPEC.md" not in path.read_text(), path


def test_the_diff_section_in_order(tmp_path: Path) -> None:
    text = (REPO / "README.md").read_text()
    section = text[text.index("### Two worlds"):text.index("## The inspector")]
    codes = []
    for block in _blocks(section, "bash"):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            args = shlex.split(line.replace("/tmp/", f"{tmp_path}/"))[1:]
            if args[0] == "inspect":
                continue  # the Diff pane: tests/ops/test_diff.py drives it
            if args[0] == "demo":
                args[args.index("--events") + 1] = "2000"
            res = run_cli_here(*args)
            codes.append((args[0], res.code))
            if args[:3] == ["diff", f"{tmp_path}/first", f"{tmp_path}/varied"]:
                assert "rows: 3 changed, 3 only in A, 3 only in B" in res.out
    assert codes == [("demo", 0), ("demo", 0), ("diff", 0), ("demo", 0), ("diff", 1),
                     ("demo", 0), ("diff", 1)]


def test_the_s3_section_runs_on_a_server_it_started_on_a_free_port(tmp_path: Path) -> None:
    """The S3 try-out, as written, in one shell: the helper picks a free port and waits for
    its own server; every command then talks to that server, and the last line stops it."""
    import subprocess
    import sys

    text = (REPO / "README.md").read_text()
    section = text[text.index("### S3 in a few commands"):text.index("### Two worlds")]
    (block,) = _blocks(section, "bash")
    script = ["set -u", f'export PATH="{Path(sys.executable).parent}:$PATH"',
              "trap 'kill ${ORACLE_TUI_S3_PID:-} 2>/dev/null' EXIT"]
    names: list[str] = []
    for line in block.splitlines():
        command = line.split("  #")[0].strip()
        if command.startswith(". .venv") or command.startswith("oracle-tui inspect"):
            continue  # the venv is this interpreter's; the TUI has its own tests
        command = command.replace("--events 20000", "--events 2000")
        if command.startswith("oracle-tui seal"):
            command += " --yes"  # the README's note: scripts pass --yes (stdin is no terminal)
        names.append(" ".join(command.split()[:2]))
        script.append(f'{command}; echo "rc $? {len(names) - 1}"')
    # The server exits once signalled (its exit, not a fixed wait, ends this loop).
    script.append('timeout 60 bash -c "while kill -0 $ORACLE_TUI_S3_PID 2>/dev/null; do '
                  'sleep 0.1; done" && echo stopped || echo alive')
    proc = subprocess.run(["bash", "-c", "\n".join(script)], cwd=REPO, capture_output=True,
                          text=True, timeout=600, stdin=subprocess.DEVNULL,
                          env={k: v for k, v in os.environ.items()
                               if not k.startswith(("AWS_", "OBJECT_STORE_"))})
    results = [(names[int(line.split()[2])], int(line.split()[1]))
               for line in proc.stdout.splitlines() if line.startswith("rc ")]
    assert results == [('eval "$(python', 0), ("oracle-tui demo", 0), ("oracle-tui check", 1),
                       ("oracle-tui seal", 0), ("oracle-tui stream-view", 0),
                       ("kill $ORACLE_TUI_S3_PID", 0)], proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1] == "stopped"
    assert re.search(r"local S3 at http://127\.0\.0\.1:\d+ \(pid \d+", proc.stderr)


def test_the_s3_helper_never_hands_out_a_port_another_server_holds(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Another server (one that answers like moto) already holds the port the helper picked:
    moto cannot bind it, and the helper gives up rather than print that server's address
    as its own."""
    import http.server
    import importlib.util
    import threading

    spec = importlib.util.spec_from_file_location("local_s3", REPO / "scripts" / "local_s3.py")
    assert spec is not None and spec.loader is not None
    local_s3 = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(local_s3)
    class LikeMoto(http.server.BaseHTTPRequestHandler):
        """Answers moto's own API path as moto would: only who holds the port tells."""

        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    squatter = http.server.ThreadingHTTPServer(("127.0.0.1", 0), LikeMoto)
    threading.Thread(target=squatter.serve_forever, daemon=True).start()
    try:
        monkeypatch.setattr(local_s3, "free_port", lambda: squatter.server_address[1])
        monkeypatch.setattr(local_s3, "ATTEMPTS", 2)
        with pytest.raises(SystemExit, match="did not start"):
            local_s3.start(tmp_path / "moto.log")
    finally:
        squatter.shutdown()
    for name in ("ab", "Bad_Bucket", "x\ny", "a;rm -rf ~", "worlds\n", "a..b", "192.168.1.1",
                 "xn--abc"):
        monkeypatch.setattr("sys.argv", ["local_s3.py", "--bucket", name])
        assert local_s3.main() == 2
