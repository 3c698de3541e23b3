"""One listing of a root, taken once and shared by every step of a check."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from oracle_tui.core.interface_pack import literal_prefix, template_regex
from oracle_tui.core.storage.base import ObjectInfo, Store


@dataclass
class Listing:
    objects: list[ObjectInfo]
    keys: list[str] = field(init=False)
    by_key: dict[str, ObjectInfo] = field(init=False)

    def __post_init__(self) -> None:
        self.objects.sort(key=lambda o: o.key)
        self.keys = [o.key for o in self.objects]
        self.by_key = {o.key: o for o in self.objects}

    @classmethod
    def of(cls, store: Store) -> Listing:
        return cls(list(store.list("")))

    def _range(self, prefix: str) -> tuple[int, int]:
        lo = bisect.bisect_left(self.keys, prefix)
        hi = lo
        while hi < len(self.keys) and self.keys[hi].startswith(prefix):
            hi += 1
        return lo, hi

    def under(self, prefix: str) -> list[ObjectInfo]:
        """Objects whose key starts with ``prefix`` (a folder prefix should end in '/')."""
        lo, hi = self._range(prefix)
        return self.objects[lo:hi]

    def match(self, rendered: str) -> list[ObjectInfo]:
        """Objects named by a rendered path template (see interface_pack.template_regex)."""
        rx = template_regex(rendered)
        return [o for o in self.under(literal_prefix(rendered)) if rx.fullmatch(o.key)]
