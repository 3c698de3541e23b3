"""One oracle pack opened for one command: where data enters the core.

Every command (check, seal, build, verify, read, locate, the inspector's session) starts
from a ROOT and needs the same things: the store, one listing, the run receipt, the world
key and where the views live. ``open_pack`` opens the store; the rest is taken once, when
first asked for, and shared by every step of the command (on S3 each LIST is paid for).
"""

from __future__ import annotations

from oracle_tui.core.errors import OracleError
from oracle_tui.core.interface_pack import InterfacePack
from oracle_tui.core.listing import Listing
from oracle_tui.core.profiles import Profile, load_profile
from oracle_tui.core.storage.base import Store
from oracle_tui.core.view_location import view_store
from oracle_tui.core.world import RunReceipt, WorldKey, read_run_receipt, resolve_world_key


class OpenedPack:
    """A ROOT with its profile, the interface pack that describes it and the scenario asked
    for (given, else the profile's wiring, else discovered from the outputs' paths)."""

    def __init__(self, root: str, profile: Profile, interface_pack: InterfacePack | None,
                 scenario_id: str | None, store: Store | None,
                 error: OracleError | None = None) -> None:
        self.root = root
        self.profile = profile
        self.scenario_id = scenario_id
        # Why the root or its interface pack could not be opened: every use raises it, and
        # the check reports it as its first finding (opening never raises).
        self.error = error
        self._interface_pack = interface_pack
        self._store = store
        self._listing: Listing | None = None
        self._receipt: RunReceipt | None = None
        self._view_store: Store | None = None
        self._exists: bool | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            raise self.error or OracleError("INTERNAL_ERROR", "the pack was not opened")
        return self._store

    @property
    def interface_pack(self) -> InterfacePack:
        if self._interface_pack is None:
            raise self.error or OracleError("INTERNAL_ERROR", "no interface pack")
        return self._interface_pack

    def root_exists(self) -> bool:
        """Whether anything is at the root, asked once (on S3 a one-key LIST)."""
        if self._exists is None:
            self._exists = self.store.root_exists()
        return self._exists

    def listing(self) -> Listing:
        """Every object under the root, listed on first use only (raises OracleError)."""
        if self._listing is None:
            self._listing = Listing.of(self.store)
        return self._listing

    def run_receipt(self) -> RunReceipt:
        """The engine's run receipt, read on first use only (raises OracleError)."""
        if self._receipt is None:
            self._receipt = read_run_receipt(self.store)
        return self._receipt

    def world_key(self) -> WorldKey:
        """The world this root holds for the scenario asked for (raises OracleError)."""
        return resolve_world_key(self.run_receipt(), self.scenario_id, self.interface_pack,
                                 self.listing())

    def view_store(self) -> Store:
        """Where this pack's stream views live (its own store, or the profile's
        stream_view_root)."""
        if self._view_store is None:
            self._view_store = view_store(self.profile, self.store)
        return self._view_store

    def for_scenario(self, scenario_id: str) -> OpenedPack:
        """The same root, listing and receipt, for another scenario (sealing names one)."""
        if scenario_id == self.scenario_id:
            return self
        return self._sharing(self._interface_pack, scenario_id)

    def with_interface_pack(self, interface_pack: InterfacePack) -> OpenedPack:
        """The same root, store and what was read of it, described by ``interface_pack``
        (completes `open_store`)."""
        return self._sharing(interface_pack, self.scenario_id)

    def _sharing(self, interface_pack: InterfacePack | None, scenario_id: str | None
                 ) -> OpenedPack:
        other = OpenedPack(self.root, self.profile, interface_pack, scenario_id,
                           self._store, self.error)
        other._listing, other._receipt = self._listing, self._receipt
        other._view_store, other._exists = self._view_store, self._exists
        return other


def open_pack(root: str, *, profile: Profile | None = None,
              interface_pack: InterfacePack | None = None,
              scenario_id: str | None = None) -> OpenedPack:
    """Open ``root`` under ``profile`` (default: local) and its interface pack (default: the
    profile's). Reads nothing yet and never raises: a root or interface pack that cannot be
    opened is carried as ``error`` (see :class:`OpenedPack`)."""
    profile = profile or load_profile("local")
    try:
        interface_pack = interface_pack or profile.load_interface_pack()
    except OracleError as exc:
        return OpenedPack(root, profile, None, _scenario(profile, scenario_id), None, exc)
    return open_store(root, profile=profile, scenario_id=scenario_id
                      ).with_interface_pack(interface_pack)


def open_store(root: str, *, profile: Profile, scenario_id: str | None = None) -> OpenedPack:
    """``root`` opened without an interface pack: enough for what reads only the store (the
    inspector's first screen, drawn before its catalogue is parsed);
    `OpenedPack.with_interface_pack` completes it. Never raises, as `open_pack`."""
    sid = _scenario(profile, scenario_id)
    try:
        store = profile.open_store(root)
    except OracleError as exc:
        return OpenedPack(root, profile, None, sid, None, exc)
    return OpenedPack(root, profile, None, sid, store)


def _scenario(profile: Profile, scenario_id: str | None) -> str | None:
    return scenario_id or profile.wiring("scenario_id") or None


def opened(source: str | OpenedPack) -> OpenedPack:
    """``source`` itself when already opened, else the ROOT opened with the defaults."""
    return source if isinstance(source, OpenedPack) else open_pack(source)
