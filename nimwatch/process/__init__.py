"""Running a command: no shell, a timeout, every process it started ended (hooks and the command alert sink)."""
