"""Docs derived from code stay current."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from lrgen.kinds import KINDS

ROOT = Path(__file__).resolve().parents[1]


def _gen_kinds():
    spec = importlib.util.spec_from_file_location("gen_kinds", ROOT / "docs" / "gen_kinds.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_kinds_reference_is_current() -> None:
    """docs/kinds.md is generated from the registry: `python docs/gen_kinds.py`."""
    assert _gen_kinds().main(["--check"]) == 0


def test_every_kind_is_documented_with_a_plot() -> None:
    text = (ROOT / "docs" / "kinds.md").read_text()
    for kind in KINDS:
        assert f"## {kind.name}\n" in text
        assert (ROOT / "docs" / "img" / "kinds" / f"{kind.name}.png").stat().st_size > 1000
