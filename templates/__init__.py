"""Jinja templates of the generated modules (data package)."""
