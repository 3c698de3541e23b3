"""The Python face (oracle_tui.api): every public name resolves, importing it loads no
engine, the example in its docstring runs, and the old reader path still works."""

from __future__ import annotations

import subprocess
import sys

import oracle_tui.api as api
from oracle_tui.core.demo import DemoWorld


def test_every_public_name_resolves_to_its_owner() -> None:
    assert api.__all__ == sorted(api._OWNERS)
    for name in api.__all__:
        value = getattr(api, name)
        assert getattr(value, "__module__", api._OWNERS[name]) == api._OWNERS[name], name


def test_importing_the_face_and_a_request_loads_no_engine() -> None:
    code = ("import sys; from oracle_tui.api import Address, CheckRequest; "
            "print(sorted(m for m in ('duckdb', 'pyarrow', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert out.strip() == "[]"


def test_the_docstring_example_runs(world: DemoWorld) -> None:
    doc = api.__doc__ or ""
    example = "\n".join(line[4:] for line in doc.splitlines() if line.startswith("    "))
    example = example.replace("/data/world", world.root).replace("...", "rows.append(batch)")
    # The demo world has no view yet: the local profile's reader falls back to the raw
    # output, with a WARN.
    namespace: dict[str, object] = {"rows": []}
    exec(example, namespace)
    report = namespace["report"]
    assert report.exit_code == 0 and report.digests_rehashed  # type: ignore[attr-defined]
    assert sum(b.num_rows for b in namespace["rows"]) == 4000  # type: ignore[attr-defined]


def test_the_reader_keeps_its_former_import_path() -> None:
    from oracle_tui.core.view_reader import open_stream_view

    assert open_stream_view is api.open_stream_view
