"""The pointers for fields from another framework (``Kind.foreign``) stay true to the registry.

tests/bad_specs/foreign_*.yaml pin the messages at their positions; here every pointer of every
kind is checked against the kind it is written for, so a renamed field cannot leave a pointer
that sends users to a name the kind does not take.
"""

from __future__ import annotations

import re

import pytest

from lrgen.kinds import KIND_MAP, KINDS, NO_WARMUP, NOT_SPEC_FIELDS, WARMUP_NAMES, Kind
from lrgen.loader import analyze

#: "... calls it X", "... calls them X", "... has X," / "... has X (" : the field X named.
NAMED = re.compile(r"\b(?:calls (?:it|them|the \w+'s length)|has) ([a-z_A-Z0-9]+)\b")


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_a_pointer_is_for_a_field_the_kind_lacks_and_names_one_it_has(kind: Kind) -> None:
    for key, text in kind.foreign.items():
        assert key not in kind.param_map, f"{kind.name}.{key} is a field, not a foreign name"
        pointer = kind.pointer(key)
        assert pointer is not None and "{this}" not in pointer
        for named in NAMED.findall(text):
            assert named == "no" or named in kind.param_map, f"{kind.name}.{key}: {named!r}"


def test_every_kind_says_why_torch_arguments_are_not_fields() -> None:
    for kind in KINDS:
        for key in NOT_SPEC_FIELDS:
            assert kind.pointer(key) == NOT_SPEC_FIELDS[key]


def test_a_kind_without_a_warmup_points_to_the_ways_to_add_one() -> None:
    """Kinds with a warmup field of their own never get the 'has no warmup' pointer."""
    for kind in KINDS:
        has_warmup = any("warmup" in name for name in kind.param_map)
        for key in WARMUP_NAMES:
            if key in kind.param_map or key in kind.foreign:
                continue
            pointer = kind.pointer(key)
            if has_warmup:
                assert pointer is None, (kind.name, key)
            else:
                label = "torch's" if kind.family == "torch" else "Keras's"
                label = label if kind.family != "neutral" else "lrgen's"
                assert pointer == NO_WARMUP.format(this=f"{label} {kind.name}"), (kind.name, key)


def test_a_typo_still_gets_did_you_mean() -> None:
    """A pointer is for a name from another framework; a misspelt field keeps the suggestion."""
    text = (
        "lrgen: 1\nschedules:\n  cos:\n    lr: 0.1\n"
        "    schedule: {kind: CosineDecay, decay_steps: 10, alpah: 0.1}\n"
    )
    _, problems = analyze(text, "typo.yaml")
    assert [str(p) for p in problems] == [
        "typo.yaml:5:52: schedules.cos.schedule.alpah: unknown parameter 'alpah'; "
        "did you mean 'alpha'?"
    ]
    assert KIND_MAP["CosineDecay"].pointer("alpah") is None
