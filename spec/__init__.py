"""The JSON Schema of spec files (data package)."""
