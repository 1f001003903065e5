"""Command-line interface of the engine (one module per command)."""
