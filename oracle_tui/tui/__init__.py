"""The Textual inspector: a thin face over oracle_tui.core."""
