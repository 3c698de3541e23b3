"""Where an output's stream view lives and by which keys it is sorted: facts of the pack
and its profile, below core/pack.py, that every door of a view and the check share."""

from __future__ import annotations

from oracle_tui.core.errors import OracleError
from oracle_tui.core.interface_pack import InterfacePack
from oracle_tui.core.paths import is_within
from oracle_tui.core.profiles import Profile
from oracle_tui.core.storage.base import Store


def sort_keys_for(profile: Profile, catalogue: InterfacePack, output_id: str) -> list[str]:
    """The view's sort key: the profile's override, else the interface pack's, else ts_utc."""
    override = profile.spec.wiring.stream_sort_keys.get(output_id)
    return list(override or catalogue.outputs[output_id].stream_sort_keys or ["ts_utc"])


def view_store(profile: Profile, pack_store: Store) -> Store:
    """Where views live: the pack's own store, or the profile's stream_view_root, which may
    not lie inside the sealed pack (its files would be the pack's, written after sealing)."""
    svr = profile.wiring("stream_view_root")
    if not svr:
        return pack_store
    if is_within(svr, pack_store.root_uri):
        raise OracleError("INPUT_INVALID", f"the stream_view_root {svr[:160]!r} lies inside the "
                                           f"pack {pack_store.root_uri[:160]!r}: views live in "
                                           "the pack's own stream_view/ or outside it")
    return profile.open_store(svr)


def view_prefix(profile: Profile, output_id: str) -> str:
    """An output's view folder inside :func:`view_store`."""
    leaf = f"ts_utc/output_id={output_id}/"
    return leaf if profile.wiring("stream_view_root") else f"stream_view/{leaf}"


def is_stream_eligible(path_template: str) -> bool:
    """Outputs made of Parquet parts can have a stream view; others (JSON, logs) cannot."""
    return path_template.strip().endswith(".parquet")
