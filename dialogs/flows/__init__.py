"""The conversations the engine runs, each a table of steps."""
