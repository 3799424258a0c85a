"""Generated code a reviewer would sign: read as code, every generated module of the example
specs, the golden spec and random specs (tests/strategies.py ``cases``) has

* one full docstring per schedule (summary, counter, formula, parameters, spec text), on the
  class (torch: the ``LRScheduler`` subclass, Keras: the ``LearningRateSchedule`` or callback;
  optax: the factory function, its only public object), and the other forms point to it;
* no constant that is never read: each field of a ``_X_Constants`` NamedTuple is read in the
  module (``c.NAME`` or ``constants.NAME``), and so is each module-level ``_NAME`` constant;
* piecewise formulas of the Python target (``_X_lr``) as ``if``/``return`` statements, not
  conditional expressions nested in one ``lr = ...``;
* the span of an interpolation as a named constant (``c.s1_span``), with the same values.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

import lrgen
from lrgen import generate
from lrgen.ir import Spec
from tests import strategies

ROOT = Path(__file__).resolve().parents[1]
SPECS = [*sorted((ROOT / "spec" / "examples").glob("*.yaml")), ROOT / "tests/golden/golden.yaml"]
TARGETS = ("torch", "keras", "optax")


def _modules(spec: Spec) -> dict[str, str]:
    return {target: generate.render(spec, target) for target in TARGETS}


def _docstrings(tree: ast.Module) -> dict[str, str]:
    """Each top-level function's and class's docstring (nested definitions too), by name."""
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            doc = ast.get_docstring(node)
            if doc:
                found[node.name] = doc
    return found


def docstring_problems(spec: Spec, target: str, source: str) -> list[str]:
    """Where the module of ``target`` breaks "one full docstring per schedule, on the class"."""
    docs = _docstrings(ast.parse(source))
    problems = []
    full = {name for name, doc in docs.items() if "Formula::" in doc}
    expected = set()
    for s in spec.entries:
        if target == "optax":
            if s.metric_driven:
                continue
            owner = s.name
        else:
            owner = s.class_name
        expected.add(owner)
        doc = docs.get(owner, "")
        spec_block = f"Spec ({spec.stem} in {Path(spec.path).name})::"
        for part in (spec_block, "Formula::", "Counter t: "):
            if doc.count(part) != 1:
                problems.append(f"{owner}: {part!r} {doc.count(part)} times, not once")
        lines = s.source.strip().splitlines()
        if lines and lines[-1].strip() not in doc:
            problems.append(f"{owner}: the spec text is missing")
        if s.params and "Parameters (keyword arguments, spec defaults): " not in doc:
            problems.append(f"{owner}: no parameters")
        if target == "torch" and not s.metric_driven:
            for name in (s.name, f"{s.name}_tensor", f"{s.name}_lambda"):
                see = f"See :class:`{s.class_name}` for the schedule, its formula and spec."
                if see not in " ".join(docs.get(name, "").split()):
                    problems.append(f"{name}: does not point to {s.class_name}")
    if full != expected:
        problems.append(f"full docstrings on {sorted(full)}, expected {sorted(expected)}")
    return problems


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_one_full_docstring_per_schedule_on_the_class(path: Path) -> None:
    spec = lrgen.load(str(path))
    for target, source in _modules(spec).items():
        assert docstring_problems(spec, target, source) == [], target
        assert unread_constants(source) == [], target


def test_the_torch_function_docstring_states_its_contract() -> None:
    spec = lrgen.load(str(ROOT / "spec/examples/transformer.yaml"))
    docs = _docstrings(ast.parse(generate.render(spec, "torch")))
    doc = " ".join(docs["warmup_cosine"].split())
    assert doc == (
        "Learning rate of ``warmup_cosine`` at step ``t`` (an int >= 0), a Python float "
        "(float64); the keyword arguments are the schedule's parameters, with the spec's "
        "defaults. Raises ValueError for a negative ``t``, for arguments the schedule refuses "
        "and for a learning rate that is not a finite number. See :class:`WarmupCosine` for "
        "the schedule, its formula and spec."
    )
    assert "warmup_cosine_tensor(t)" in " ".join(docs["WarmupCosine"].split())


def unread_constants(source: str) -> list[str]:
    """The fields of each ``_X_Constants`` NamedTuple that the module never reads as
    ``c.NAME``/``constants.NAME``/``self.constants.NAME``, and the module-level ``_NAME``
    constants it never reads."""
    tree = ast.parse(source)
    attributes = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.ctx, ast.Load)
        and (
            (isinstance(node.value, ast.Name) and node.value.id in ("c", "constants"))
            or (isinstance(node.value, ast.Attribute) and node.value.attr == "constants")
        )
    }
    names = {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }
    unread = []
    for statement in tree.body:
        if isinstance(statement, ast.ClassDef) and statement.name.endswith("_Constants"):
            for item in statement.body:
                name = item.target.id if isinstance(item, ast.AnnAssign) else None
                if isinstance(name, str) and name not in attributes:
                    unread.append(f"{statement.name}.{name}")
        targets = []
        if isinstance(statement, ast.Assign):
            targets = statement.targets
        elif isinstance(statement, ast.AnnAssign):
            targets = [statement.target]
        for target in targets:
            name = target.id if isinstance(target, ast.Name) else ""
            if name.startswith("_") and name != "__all__" and name not in names:
                unread.append(name)
    return unread


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_every_constant_is_read(path: Path) -> None:
    spec = lrgen.load(str(path))
    for target, source in _modules(spec).items():
        assert unread_constants(source) == [], target


def test_unread_constants_are_found() -> None:
    source = (
        "class _A_Constants(NamedTuple):\n    lr: float\n    x: int\n\n"
        "_LIMIT = 3\n_USED = 4\n\n"
        "def f(c):\n    return c.lr * _USED\n"
    )
    assert unread_constants(source) == ["_A_Constants.x", "_LIMIT"]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
@given(case=strategies.cases())
def test_random_specs_have_one_full_docstring_per_schedule_and_no_unread_constant(
    case: strategies.Case,
) -> None:
    spec = case.spec
    for target, source in _modules(spec).items():
        assert docstring_problems(spec, target, source) == [], target
        assert unread_constants(source) == [], target


def piecewise_problems(source: str) -> list[str]:
    """Formula functions of the Python target (``_X_lr``, ``_X_momentum_at``) that return a
    conditional expression instead of stating their pieces as ``if``/``return`` (a conditional
    inside a piece, under its ``if``, stays an expression)."""
    problems = []
    for node in ast.parse(source).body:
        if not isinstance(node, ast.FunctionDef):
            continue
        if not node.name.endswith(("_lr", "_at")):
            continue
        for statement in node.body:
            if isinstance(statement, ast.Return) and isinstance(statement.value, ast.IfExp):
                problems.append(f"{node.name}:{statement.lineno}")
        for statement in ast.walk(node):  # ``lr = a if cond else b`` in the checked form
            if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.IfExp):
                problems.append(f"{node.name}:{statement.lineno}")
    return problems


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_piecewise_formulas_are_if_return(path: Path) -> None:
    source = generate.render(lrgen.load(str(path)), "torch")
    assert piecewise_problems(source) == []


def test_sequential_phases_are_if_return() -> None:
    spec = lrgen.load(str(ROOT / "spec/examples/transformer.yaml"))
    tree = ast.parse(generate.render(spec, "torch"))
    (function,) = [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name == "_WarmupCosine_lr"
    ]
    shape = [type(statement).__name__ for statement in function.body]
    assert shape == ["If", "If", "Return"]
    first = function.body[0]
    assert isinstance(first, ast.If)
    assert ast.unparse(first.test) == "t < c.milestones_0"
    assert ast.unparse(function.body[1].test) == "c.lr >= 1e-06"  # type: ignore[attr-defined]


def test_pieces_after_the_taken_one_are_not_evaluated() -> None:
    """``t < 5: 1.0``, else ``1 / (t - 5)``: the else piece divides by zero at t = 5 only."""
    from lrgen.lower import FLOAT, T_VAR, Op, compare, lit, to_float, where
    from lrgen.printers import PythonPrinter

    tree = where(
        compare("<", T_VAR, lit(5)),
        lit(1.0),
        Op("/", (lit(1.0), to_float(T_VAR - 5)), FLOAT, True),
    )
    body = PythonPrinter().statements(tree).text
    assert body == "if t < 5:\n    return 1.0\nreturn 1.0 / float(t - 5)"
    scope: dict[str, object] = {}
    exec("def f(t):\n" + "\n".join("    " + line for line in body.splitlines()), scope)
    f = scope["f"]
    assert f(3) == 1.0  # type: ignore[operator]
    assert f(7) == 0.5  # type: ignore[operator]
    with pytest.raises(ZeroDivisionError, match="float division by zero"):
        f(5)  # type: ignore[operator]


def test_an_interpolation_span_is_a_named_constant_with_the_same_value(tmp_path: Path) -> None:
    """``eta_min + (lr - eta_min) * f``: ``lr - eta_min`` is ``c.s1_span``, computed once at
    construction by the same float64 subtraction, so the values are bit-identical."""
    import math

    from tests.frameworks import import_path

    spec = lrgen.load(str(ROOT / "spec/examples/transformer.yaml"))
    source = generate.render(spec, "torch")
    assert "s1_span = lr - 1e-06" in source
    assert "c.lr - 1e-06" not in source
    (constants,) = [
        node
        for node in ast.parse(source).body
        if isinstance(node, ast.FunctionDef) and node.name == "_WarmupCosine_constants"
    ]
    # a subtraction cannot raise: computed after the checks' try, not inside it
    shape = [type(s).__name__ for s in constants.body[1:]]  # after the docstring
    assert shape == ["Try", "Assign", "Assign", "Return"]
    assert ast.unparse(constants.body[2]) == "s1_span = lr - 1e-06"
    path = tmp_path / "transformer_torch.py"
    path.write_text(source, encoding="utf-8")
    module = import_path(path)
    assert module._WarmupCosine_constants().s1_span == 0.0005 - 1e-06
    total, warmup = 100000, 2000
    period = 2 * (total - warmup)
    for t in (2000, 2001, 2999, 50000, 99999, 100000, 150000):
        written_out = (
            1e-06
            + (0.0005 - 1e-06)
            * math.sin(
                math.pi
                / 2
                * float(abs(total - warmup - (t - warmup) % period))
                / float(total - warmup)
            )
            ** 2
        )
        assert module.warmup_cosine(t) == written_out, t
