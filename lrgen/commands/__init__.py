"""Small command modules of the CLI (see lrgen.cli)."""
