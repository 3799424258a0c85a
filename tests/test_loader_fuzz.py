"""Fuzzing the loader: whatever the input, ``load_text`` returns a Spec or raises SpecError.

Any other exception (a traceback for the user) fails. Inputs: random text and bytes, random
nested documents built from the spec's own vocabulary, mutations of a valid spec, and random
valid specs, which must load, and load to the same IR from JSON and from YAML.
"""

from __future__ import annotations

import dataclasses
import json
import math
import string
from typing import Any

import yaml
from hypothesis import example, given, reject
from hypothesis import strategies as st

from lrgen import ir, kinds, loader
from lrgen.errors import SpecError
from lrgen.kinds import T

VALID = """\
lrgen: 1
description: a valid spec to mutate
schedules:
  warmup_cosine:
    lr: 5.0e-4
    params: {total_steps: 1000, warmup_steps: 100}
    schedule:
      kind: SequentialLR
      milestones: [warmup_steps]
      schedulers:
        - {kind: LinearLR, start_factor: 0.01, total_iters: warmup_steps}
        - kind: CosineAnnealingLR
          T_max: "total_steps - warmup_steps"
  plateau:
    lr: 0.1
    unit: epoch
    schedule: {kind: ReduceLROnPlateau, patience: 3}
  pieces:
    lr: 0.1
    schedule: {kind: PiecewiseConstantDecay, boundaries: [10, 20], values: [0.1, 0.01, 0.001]}
"""
VALID_JSON = json.dumps(yaml.safe_load(VALID), indent=1)


def check(text: str | bytes, name: str) -> ir.Spec | None:
    """Load ``text``; a SpecError is fine if every problem is well formed."""
    try:
        spec = loader.load_text(text, name)
    except SpecError as err:
        assert err.problems
        assert list(err.problems) == sorted(err.problems)
        for problem in err.problems:
            assert problem.file == name
            assert problem.line >= 1 and problem.column >= 1
            assert problem.path and problem.message
            assert "\n" not in str(problem) and "\r" not in str(problem)
        return None
    assert isinstance(spec, ir.Spec)
    assert spec.entries
    return spec


def test_the_mutated_spec_is_valid() -> None:
    assert check(VALID, "s.yaml") is not None
    assert check(VALID_JSON, "s.json") is not None


# --- random text ----------------------------------------------------------------------------------

YAMLISH = st.text(
    alphabet=st.sampled_from(list("{}[]:,-?#&*!|>'\"%@`\\ \t\n.~0123456789eEabkLR_")), max_size=60
)


@given(text=st.text() | YAMLISH)
@example(text="")
@example(text="\x00")
@example(text="[" * 1000)
@example(text="a: &a [*a]")
@example(text="!!python/object/apply:os.system ['true']")
@example(text="? [a]\n: b")
@example(text="%YAML 1.1\n---\na: 1")
@example(text="a: !<tag:x%0Ay> 1")
@example(text="--- a\n--- b")
@example(text="{")
@example(text='"\\ud800": 1')
def test_random_text_never_raises_anything_else(text: str) -> None:
    check(text, "s.yaml")
    check(text, "s.json")


@given(data=st.binary())
@example(data=b"\xff\xfe\x00\x00")
@example(data=b"\xef\xbb\xbf")
@example(data=b"lrgen: 1\n\xc3")
def test_random_bytes_never_raise_anything_else(data: bytes) -> None:
    check(data, "s.yaml")
    check(data, "s.json")


# --- random documents from the spec's vocabulary --------------------------------------------------

WORDS = sorted(
    {"lrgen", "schedules", "description", "$schema", "<<", *kinds.KIND_MAP}
    | {f.name for f in kinds.SCHEDULE_FIELDS}
    | {p.name for k in kinds.KINDS for p in k.params}
    | {"kind", "t", "lr", "x; import os", "__class__", "foo_1", "foo1"}
)
EXPRESSIONS = st.sampled_from(
    [
        "t",
        "total - 1",
        "total_steps - warmup_steps",
        "__import__('os')",
        "1/0",
        "x.y",
        "lambda: 1",
        "t[0]",
        "'a'",
        "1 +",
        "2 ** 2000",
        "min(1)",
        "1e400",
        "",
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(WORDS)
    | EXPRESSIONS
)
KEYS = st.sampled_from(WORDS) | st.text(max_size=6)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=25,
)
NODE_LIKE = st.dictionaries(KEYS, VALUES, max_size=4).flatmap(
    lambda extra: st.sampled_from(list(kinds.KIND_MAP)).map(lambda kind: {"kind": kind, **extra})
)
DOCUMENTS = st.fixed_dictionaries(
    {
        "lrgen": st.sampled_from([1, 2, "1", True, None]),
        "schedules": st.dictionaries(
            KEYS,
            st.fixed_dictionaries(
                {"lr": SCALARS, "schedule": NODE_LIKE},
                optional={
                    "params": st.dictionaries(KEYS, SCALARS, max_size=3),
                    "unit": SCALARS,
                    "description": SCALARS,
                },
            ),
            max_size=3,
        ),
    },
    optional={"description": SCALARS, "extra": VALUES},
)


@given(document=DOCUMENTS | VALUES)
def test_random_documents_never_raise_anything_else(document: Any) -> None:
    check(json.dumps(document, allow_nan=True), "s.json")
    check(yaml.safe_dump(document), "s.yaml")


# --- mutations of a valid spec --------------------------------------------------------------------

INSERTS = st.text(alphabet=st.sampled_from(list("{}[]:,- #&*!'\"\n\t0123456789.abe_")), max_size=6)


@st.composite
def mutations(draw: st.DrawFn, text: str) -> str:
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["delete", "insert", "replace", "duplicate", "swap"]))
        if op == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 10)) :]
        elif op == "insert":
            text = text[:at] + draw(INSERTS) + text[at:]
        elif op == "replace":
            text = text[:at] + draw(INSERTS) + text[at + 1 :]
        else:
            lines = text.split("\n")
            i = draw(st.integers(0, len(lines) - 1))
            j = draw(st.integers(0, len(lines) - 1))
            if op == "duplicate":
                lines.insert(j, lines[i])
            else:
                lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
    return text


@given(text=mutations(VALID))
def test_mutated_yaml_never_raises_anything_else(text: str) -> None:
    check(text, "s.yaml")


@given(text=mutations(VALID_JSON))
def test_mutated_json_never_raises_anything_else(text: str) -> None:
    check(text, "s.json")
    check(text, "s.yaml")


# --- random valid specs ---------------------------------------------------------------------------

_BIG = 1e6
PLAIN_TEXT = st.text(alphabet=string.ascii_letters + " ", min_size=1, max_size=20).map(
    lambda s: s.strip() or "text"
)


def _low(param: kinds.Param) -> tuple[float, bool]:
    if param.exclusive_minimum is not None:
        return param.exclusive_minimum, True
    return (param.minimum if param.minimum is not None else -_BIG), False


def _high(param: kinds.Param) -> tuple[float, bool]:
    if param.exclusive_maximum is not None:
        return param.exclusive_maximum, True
    return (param.maximum if param.maximum is not None else _BIG), False


def numbers(param: kinds.Param) -> st.SearchStrategy[float]:
    (low, open_low), (high, open_high) = _low(param), _high(param)
    return st.floats(low, high, exclude_min=open_low, exclude_max=open_high, allow_nan=False)


def integers(param: kinds.Param) -> st.SearchStrategy[int]:
    (low, open_low), (high, _) = _low(param), _high(param)
    first = math.floor(low) + 1 if open_low else math.ceil(low)
    return st.integers(first, max(first, min(int(high), 10_000)))


def increasing(item: st.SearchStrategy[Any], size: int) -> st.SearchStrategy[list[Any]]:
    return st.lists(item, min_size=size, max_size=size, unique=True).map(sorted)


def value(param: kinds.Param) -> st.SearchStrategy[Any]:
    strategies: dict[T, st.SearchStrategy[Any]] = {
        T.NUMBER: numbers(param),
        T.INTEGER: integers(param),
        T.BOOLEAN: st.booleans(),
        T.CHOICE: st.sampled_from(param.choices),
        T.STRING: PLAIN_TEXT,
        T.INT_LIST: st.integers(max(param.min_items, 1), 4).flatmap(
            lambda n: increasing(integers(param), n)
        ),
        T.NUMBER_LIST: st.lists(numbers(param), min_size=max(param.min_items, 1), max_size=4),
        T.EXPR_T: st.sampled_from(["1", "0.5 ** (t / 10)", "min(1, (step + 1) / 100)", "0.9"]),
        T.EXPR_X: st.sampled_from(["1", "1 / (2 ** (x - 1))"]),
    }
    found = strategies[param.type]
    return (st.none() | found) if param.nullable else found


@st.composite
def nodes(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    choices = [
        k
        for k in kinds.KINDS
        if not (k.metric_driven and depth)
        and not (depth >= 2 and any(p.type is T.NODES for p in k.params))
    ]
    kind = draw(st.sampled_from(choices))
    node: dict[str, Any] = {"kind": kind.name}
    if draw(st.booleans()):
        node["description"] = draw(PLAIN_TEXT)
    for param in kind.params:
        if param.type is T.NODES:
            node[param.name] = draw(st.lists(nodes(depth + 1), min_size=1, max_size=3))
        elif param.required or draw(st.booleans()):
            node[param.name] = draw(value(param))
    for check in kind.checks:  # make the registry's cross-field rules hold
        if isinstance(check, kinds.LenMatch):
            param = kind.param_map[check.field]
            size = len(node[check.other]) + check.offset
            item = integers(param) if param.type is T.INT_LIST else numbers(param)
            node[check.field] = draw(increasing(item, size))
        elif isinstance(check, kinds.Less):
            low = node.get(check.low, kind.param_map[check.low].default)
            node[check.high] = low + draw(st.integers(1, 1000))
        elif isinstance(check, kinds.TotalSteps):
            for name in ("total_steps", "epochs", "steps_per_epoch"):
                node.pop(name, None)
            names = draw(st.sampled_from([("total_steps",), ("epochs", "steps_per_epoch")]))
            for name in names:
                node[name] = draw(st.integers(1, 1000))
    # Every other registry check, through its own rule (kinds.Check.violation on the literals, as
    # the loader asks it): an optional field at fault is dropped, anything else rejects the draw.
    for _ in kind.params:
        fault = next(
            (
                v
                for c in kind.checks
                if (v := c.violation(lambda name: loader._literal(kind, node, name))) is not None
            ),
            None,
        )
        if fault is None:
            break
        name = fault.field[0] if fault.field else None
        if not isinstance(name, str) or kind.param_map[name].required or name not in node:
            reject()
        node.pop(name)
    return node


def _distinct_generated_names(schedules: dict[str, Any]) -> bool:
    classes = {kinds.camel_name(n) for n in schedules}
    functions = {n + suffix for n in schedules for suffix in ("", "_lambda", "_tensor")}
    return len(classes) == len(schedules) and len(functions) == 3 * len(schedules)


SPECS = st.fixed_dictionaries(
    {
        "lrgen": st.just(1),
        "schedules": st.dictionaries(
            st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True).filter(
                lambda n: n not in kinds.RESERVED_NAMES
            ),
            st.fixed_dictionaries(
                {"lr": st.floats(1e-6, 10), "schedule": nodes()},
                optional={
                    "unit": st.sampled_from(["step", "epoch"]),
                    "description": PLAIN_TEXT,
                    "params": st.dictionaries(
                        st.sampled_from(["total", "warm", "scale"]), st.integers(1, 100)
                    ),
                },
            ),
            min_size=1,
            max_size=3,
        ).filter(_distinct_generated_names),
    }
)


def _entries(spec: ir.Spec | None) -> tuple[ir.Schedule, ...]:
    assert spec is not None
    return tuple(dataclasses.replace(s, source="") for s in spec.entries)


@given(document=SPECS)
def test_random_valid_specs_load_to_the_same_ir_from_json_and_yaml(document: Any) -> None:
    as_json = json.dumps(document, indent=2)
    from_json = check(as_json, "s.json")
    from_yaml = check(yaml.safe_dump(document, sort_keys=False), "s.yaml")
    json_as_yaml = check(as_json, "s.yaml")
    assert _entries(from_json) == _entries(from_yaml) == _entries(json_as_yaml)
    assert from_json is not None
    assert [s.name for s in from_json.entries] == list(document["schedules"])
    for schedule in from_json.entries:
        ir.bind(schedule)  # the loader checked it: binding the defaults succeeds
