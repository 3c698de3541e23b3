"""Headless engine of oracle-tui. Nothing under this package imports Textual or Rich."""
