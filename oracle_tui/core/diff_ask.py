"""What a diff is asked to compare (kept apart from the diff, which loads DuckDB, so that a
request can name it without loading the engine)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class DiffAsk(BaseModel):
    """What a diff compares: ``output_ids`` limits the outputs and asks for their rows even
    when the worlds differ in identity; ``examples``: differing rows shown per output;
    ``quick``: trust a fully sealed side's content index instead of re-hashing its bytes."""

    output_ids: list[str] | None = None
    examples: int = Field(default=10, ge=0, le=1_000_000)
    quick: bool = False
