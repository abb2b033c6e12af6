"""The Textual TUI (imported only by the tui and replay commands)."""
