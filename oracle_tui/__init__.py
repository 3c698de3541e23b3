"""oracle-tui: the operator's tool for the Oracle Store boundary."""

from __future__ import annotations

__version__ = "0.2.0"
