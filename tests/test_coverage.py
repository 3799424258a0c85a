"""Coverage by construction: every kind in every mode, on every target, with no luck involved.

The random properties (tests/test_properties.py) draw ~25 examples under the ``ci`` profile,
which reach about half the kinds per property and a given mode almost never. Here the cases are
enumerated instead (:func:`tests.strategies.explicit_cases`): every closed-form kind of the
registry in every combination of its choices, flags and nullable fields (:func:`mode_matrix`,
derived from :data:`lrgen.kinds.KINDS`, so a new mode gets a case or fails
``test_every_kind_and_mode_has_a_case``), literal and with every field a param (overridden),
with ``unit: epoch``, the restart variants (integer and fractional growth), and every operator
and function of the expression language in lambdas, in ``scale_fn`` and in numeric fields.

All cases go into one spec, rendered once per target and imported once; each test walks every
case and reports every case that fails, with its first failing step and the numbers. Steps:
0..100, every integer of the tree -1/0/+1 and doubled, and 2**24 +- 1, 2**31 - 2, 2**31 - 1
(:func:`tests.strategies.steps_for`). The JAX and torch Keras backends get the same cases in
tests/test_keras_backends.py (one worker process per backend).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import lrgen
from lrgen import expr as ex
from lrgen import ir, reference
from lrgen.kinds import KIND_MAP, KINDS, T
from tests.frameworks import (
    float64_close,
    mirrors_torch,
    momentum_trace,
    torch_builtin,
    torch_trace,
)
from tests.strategies import (
    BASE_FIELDS,
    CLOSED_FORM_KINDS,
    MAX_STEP,
    Case,
    Explicit,
    coverage_spec,
    explicit_cases,
    float32_rule,
    float32_steps,
    float64_steps,
    generated_module,
    make_case,
    mode_matrix,
    mode_of,
    schedule_from,
    spec_json,
    steps_for,
    torch_compatible,
    torch_horizon,
)

torch = pytest.importorskip("torch")
keras = pytest.importorskip("keras")

HORIZON = 100  # dense steps 0..HORIZON; the explicit cases' boundaries all lie below
DENSE = 400  # at most this many steps of a torch scheduler are stepped through one at a time
STEPS_PER_EPOCH = 3


@dataclasses.dataclass(frozen=True)
class Built:
    """The explicit cases renamed ``c0, c1, ...``, in one spec, rendered and imported."""

    items: tuple[Explicit, ...]
    cases: tuple[Case, ...]  # the renamed schedules, same params
    torch_module: Any
    keras_module: Any


@pytest.fixture(scope="module")
def built() -> Built:
    items = explicit_cases()
    spec, cases = coverage_spec(items)
    return Built(items, cases, generated_module(spec, "torch"), generated_module(spec, "keras"))


def _spec(item: Explicit, case: Case) -> str:
    return f"{spec_json(item.case.schedule)} params={dict(case.params)}"


def _first_failure(got: Any, ref: np.ndarray, steps: np.ndarray, ok: np.ndarray) -> str:
    got = np.asarray(got, dtype=np.float64)
    i = int(np.argmax(~ok))
    rel = abs(got[i] - ref[i]) / max(abs(ref[i]), 1e-300)
    return f"t={int(steps[i])}: got {float(got[i])!r}, expected {float(ref[i])!r} (rel {rel:.3g})"


def _check_all(
    built: Built,
    what: str,
    compare: Callable[[Case], tuple[Any, np.ndarray, np.ndarray, Callable[..., np.ndarray]]],
    select: Callable[[Case], bool] = lambda case: True,
) -> int:
    """Run ``compare`` on every selected case; fail listing each case that differs. Returns
    how many cases were compared (so a test can assert it compared something)."""
    problems, count = [], 0
    for item, case in zip(built.items, built.cases, strict=True):
        if not select(case):
            continue
        count += 1
        try:
            got, ref, steps, rule = compare(case)
        except Exception as error:  # one case's exception names its case, the others still run
            problems.append(
                f"{item.label}: raised {type(error).__name__}: {error}\n    {_spec(item, case)}"
            )
            continue
        got = np.asarray(got, dtype=np.float64)
        if got.shape != ref.shape:
            problems.append(f"{item.label}: shape {got.shape}, expected {ref.shape}")
            continue
        ok = rule(got, ref)
        if not ok.all():
            problems.append(
                f"{item.label}: {_first_failure(got, ref, steps, ok)}\n    {_spec(item, case)}"
            )
    assert not problems, f"{what}: {len(problems)} of {count} cases differ:\n" + "\n".join(
        problems[:12]
    )
    return count


def _steps(case: Case) -> np.ndarray:
    return steps_for(case.bound, horizon=HORIZON)


def _reference(case: Case, steps: np.ndarray) -> np.ndarray:
    return lrgen.evaluate(case.schedule, steps, params=case.params)


# --- the matrix -----------------------------------------------------------------------------------


def _kinds_and_modes(case: Case) -> set[tuple[str, tuple[Any, ...]]]:
    out = set()

    def visit(b: ir.Bound) -> None:
        out.add((b.kind, mode_of(b)))
        for child in b.children:
            visit(child)

    visit(case.bound)
    return out


def _rejected(kind: str, combo: tuple[Any, ...]) -> bool:
    """Whether the registry's checks reject this combination (OneCycleLR's length forms)."""
    from tests.strategies import _explicit, _mode_fields

    return not _explicit("probe", kind, _mode_fields(kind, combo))


def test_every_kind_and_mode_has_a_case() -> None:
    """Every closed-form kind x every combination of its choices, flags and nullable fields
    (from the registry), literal and with params; every kind with ``unit: epoch``."""
    items = explicit_cases()
    covered: dict[str, set[tuple[str, tuple[Any, ...]]]] = {"literal": set(), "params": set()}
    epoch_kinds = set()
    for item in items:
        form = "params" if item.case.schedule.params else "literal"
        covered[form] |= _kinds_and_modes(item.case)
        if item.case.schedule.unit == "epoch":
            epoch_kinds.add(item.case.bound.kind)
    missing = [
        f"{kind}{list(combo)} ({form})"
        for kind in CLOSED_FORM_KINDS
        for combo in mode_matrix(kind)
        for form in ("literal", "params")
        if (kind, combo) not in covered[form] and not _rejected(kind, combo)
    ]
    assert not missing, "kinds x modes without a case: " + ", ".join(missing)
    assert epoch_kinds == set(CLOSED_FORM_KINDS), set(CLOSED_FORM_KINDS) - epoch_kinds
    # the matrix is what the registry says: e.g. CyclicLR's modes x scale_mode x momentum
    cyclic = {mode_of(i.case.bound) for i in items if i.case.bound.kind == "CyclicLR"}
    assert len(cyclic) == 3 * 3 * 2 * 2 * 2 == len(mode_matrix("CyclicLR"))


def test_every_param_is_a_param_somewhere() -> None:
    """Each numeric field of each kind is computed from an overridden param in some case."""
    seen = set()

    def visit(n: ir.Node, overridden: frozenset[str]) -> None:
        for name, value in n.args:
            items = value if isinstance(value, tuple) else (value,)
            if any(isinstance(v, ex.Expr) and ex.names_in(v) & overridden for v in items):
                seen.add((n.kind, name))
        for child in n.children:
            visit(child, overridden)

    for item in explicit_cases():
        visit(item.case.schedule.node, frozenset(item.case.params))
    wanted = {
        (k.name, p.name)
        for k in KINDS
        if not k.metric_driven
        for p in k.params
        if p.type in (T.NUMBER, T.INTEGER, T.INT_LIST, T.NUMBER_LIST)
    }
    assert wanted <= seen, sorted(wanted - seen)


def _operators(tree: Any) -> set[str]:
    out = set()
    for sub in ex.walk(tree):
        if isinstance(sub, ex.Binary | ex.Compare):
            out.add(sub.op)
        elif isinstance(sub, ex.Unary):
            out.add(f"unary {sub.op}")
        elif isinstance(sub, ex.Call):
            out.add(sub.func)
        elif isinstance(sub, ex.Name) and sub.id in ex.CONSTANTS:
            out.add(sub.id)
    return out


def test_every_operator_and_function_in_lambdas_scale_fn_and_numeric_fields() -> None:
    language = {*ex.BINARY_OPS, *ex.COMPARE_OPS, *ex.FUNCTIONS, *ex.CONSTANTS, "unary -"}
    where: dict[str, set[str]] = {"lambda": set(), "scale_fn": set(), "numeric": set()}
    counters: set[str] = set()
    for item in explicit_cases():

        def visit(n: ir.Node) -> None:
            for name, value in n.args:
                kind = KIND_MAP[n.kind].param_map[name].type
                items = value if isinstance(value, tuple) else (value,)
                for v in items:
                    if not isinstance(v, ex.Expr):
                        continue
                    if kind is T.EXPR_T:
                        where["lambda"] |= _operators(v)
                        counters.update(ex.names_in(v) & {"t", "step", "epoch"})
                    elif kind is T.EXPR_X:
                        where["scale_fn"] |= _operators(v)
                    else:
                        where["numeric"] |= _operators(v)
            for child in n.children:
                visit(child)

        visit(item.case.schedule.node)
    assert language <= where["lambda"], language - where["lambda"]
    assert language <= where["numeric"], language - where["numeric"]
    assert {"**", "/", "-", "exp", "max"} <= where["scale_fn"]
    assert counters == {"t", "step", "epoch"}


def test_restarts_with_integer_and_fractional_growth() -> None:
    growth = {
        (
            i.case.bound.kind,
            float(i.case.bound["T_mult" if "T_mult" in i.case.bound.values else "t_mul"]),
        )
        for i in explicit_cases()
        if i.case.bound.kind in ("CosineAnnealingWarmRestarts", "CosineDecayRestarts")
    }
    assert {("CosineAnnealingWarmRestarts", 1.0), ("CosineAnnealingWarmRestarts", 2.0)} <= growth
    assert {("CosineDecayRestarts", 1.0), ("CosineDecayRestarts", 2.0)} <= growth
    assert any(k == "CosineDecayRestarts" and not m.is_integer() for k, m in growth)


# --- every target ---------------------------------------------------------------------------------


def test_python_function_equals_reference(built: Built) -> None:
    def compare(case: Case) -> tuple:
        steps = float64_steps(case, _steps(case))
        function = getattr(built.torch_module, case.schedule.name)
        got = [function(int(t), **case.params) for t in steps]
        return got, _reference(case, steps), steps, float64_close

    assert _check_all(built, "python function", compare) == len(built.cases)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_torch_tensor_equals_reference(built: Built, dtype: str) -> None:
    def compare(case: Case) -> tuple:
        steps = _steps(case)
        if dtype == "float64":
            steps, rule = float64_steps(case, steps), float64_close
        else:
            steps, rule = float32_steps(case, steps), float32_rule(case)
        fn = getattr(built.torch_module, f"{case.schedule.name}_tensor")
        got = fn(torch.as_tensor(steps), **case.params, dtype=getattr(torch, dtype))
        assert got.dtype == getattr(torch, dtype)
        return got.numpy(), _reference(case, steps), steps, rule

    _check_all(built, f"torch tensor {dtype}", compare)


def _dense(case: Case) -> int:
    small = _steps(case)
    return int(small[small < DENSE].max()) + 1


@pytest.mark.parametrize("variant", ["class", "lambda"])
def test_torch_scheduler_equals_reference(built: Built, variant: str) -> None:
    """The scheduler class (and the ``LambdaLR`` factory), stepped one step at a time."""

    def compare(case: Case) -> tuple:
        name = case.schedule.class_name if variant == "class" else f"{case.schedule.name}_lambda"
        make = getattr(built.torch_module, name)
        n = _dense(case)
        trace = torch_trace(lambda opt: make(opt, **case.params), n, case.lr)
        return trace, _reference(case, np.arange(n)), np.arange(n), float64_close

    _check_all(built, f"torch scheduler ({variant})", compare)


def _keras_iterations(case: Case) -> tuple[np.ndarray, np.ndarray]:
    steps = float32_steps(case, _steps(case))
    if case.schedule.unit == "step":
        return steps, steps
    steps = steps[steps * STEPS_PER_EPOCH + STEPS_PER_EPOCH - 1 <= MAX_STEP]
    return steps, steps * STEPS_PER_EPOCH + (STEPS_PER_EPOCH - 1)


def keras_kwargs(case: Case) -> dict[str, Any]:
    kwargs: dict[str, Any] = dict(case.params)
    if case.schedule.unit == "epoch":
        kwargs["steps_per_epoch"] = STEPS_PER_EPOCH
    return kwargs


def test_keras_tensorflow_equals_reference(built: Built) -> None:
    """Keras on TensorFlow (this process); JAX and torch: tests/test_keras_backends.py."""

    def compare(case: Case) -> tuple:
        steps, iterations = _keras_iterations(case)
        schedule = getattr(built.keras_module, case.schedule.class_name)(**keras_kwargs(case))
        got = np.asarray(schedule(iterations), dtype=np.float64)
        return got, _reference(case, steps), steps, float32_rule(case)

    _check_all(built, "keras (tensorflow)", compare)


# --- momentum and beta1 ---------------------------------------------------------------------------


def _cycles_momentum(case: Case) -> bool:
    return case.bound.kind in ("CyclicLR", "OneCycleLR") and bool(case.bound["cycle_momentum"])


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_momentum_equals_reference(built: Built, optimizer: str) -> None:
    """CyclicLR and OneCycleLR with ``cycle_momentum``: the generated class moves SGD's momentum
    (Adam's beta1) as ``lrgen.reference.momentum`` says, inversely to the learning rate."""

    def compare(case: Case) -> tuple:
        cls = getattr(built.torch_module, case.schedule.class_name)
        n = _dense(case)
        got = momentum_trace(lambda opt: cls(opt, **case.params), n, case.lr, optimizer)
        ref = reference.momentum(case.schedule, np.arange(n), params=case.params)
        return got, ref, np.arange(n), float64_close

    assert _check_all(built, f"momentum ({optimizer})", compare, _cycles_momentum) >= 40


def _torch_mirrored(case: Case) -> bool:
    return mirrors_torch(case.bound) and torch_compatible(case.bound)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_momentum_equals_torch_builtin(built: Built, optimizer: str) -> None:
    """The same, against torch's own CyclicLR and OneCycleLR (where torch means the same)."""

    def compare(case: Case) -> tuple:
        cls = getattr(built.torch_module, case.schedule.class_name)
        n = torch_horizon(case.bound, DENSE)
        ours = momentum_trace(lambda opt: cls(opt, **case.params), n, case.lr, optimizer)
        theirs = momentum_trace(lambda opt: torch_builtin(case.bound, opt), n, case.lr, optimizer)
        return ours, theirs, np.arange(n), lambda a, b: float64_close(a, b, rel=1e-9)

    selected = _check_all(
        built,
        f"momentum vs torch ({optimizer})",
        compare,
        lambda c: _cycles_momentum(c) and _torch_mirrored(c),
    )
    assert selected >= 40


def test_torch_class_equals_torch_builtin(built: Built) -> None:
    """Every torch-mirrored case where torch means what lrgen means, its learning rate."""

    def compare(case: Case) -> tuple:
        cls = getattr(built.torch_module, case.schedule.class_name)
        n = torch_horizon(case.bound, DENSE)
        ours = torch_trace(lambda opt: cls(opt, **case.params), n, case.lr)
        theirs = torch_trace(lambda opt: torch_builtin(case.bound, opt), n, case.lr)
        return ours, theirs, np.arange(n), lambda a, b: float64_close(a, b, rel=1e-9)

    assert _check_all(built, "torch built-in", compare, _torch_mirrored) >= 100


# --- defaults -----------------------------------------------------------------------------------


def _required_fields(kind: str) -> dict[str, Any]:
    """The kind's fields that have no default (OneCycleLR: total_steps), from BASE_FIELDS."""
    spec_kind = KIND_MAP[kind]
    names = {p.name for p in spec_kind.params if p.required}
    if kind == "OneCycleLR":
        names.add("total_steps")
    return {k: v for k, v in BASE_FIELDS[kind].items() if k in names}


MIRRORED_LEAVES = tuple(
    k.name
    for k in KINDS
    if k.family in ("torch", "keras")
    and not k.metric_driven
    and k.name not in ("SequentialLR", "ChainedScheduler", "LambdaLR")
)


@pytest.fixture(scope="module")
def defaults_built() -> tuple[tuple[Case, ...], Any, Any]:
    items = [
        Explicit(f"{kind}:defaults", make_case(schedule_from(ir.make_node(kind, **fields), 0.1)))
        for kind in MIRRORED_LEAVES
        for fields in [_required_fields(kind)]
    ]
    spec, cases = coverage_spec(items)
    return cases, generated_module(spec, "torch"), generated_module(spec, "keras")


def test_defaults_equal_the_frameworks_defaults(defaults_built: tuple) -> None:
    """Each mirrored kind given only its required fields, against the framework built-in given
    the same fields: lrgen's registry defaults (filled in by ``make_node``) must mean what the
    framework's own defaults mean (a wrong default moves the numbers here)."""
    cases, mod, kmod = defaults_built
    problems = []
    for case in cases:
        kind = case.bound.kind
        given = _required_fields(kind)
        if KIND_MAP[kind].family == "torch":
            from torch.optim import lr_scheduler

            cls = getattr(mod, case.schedule.class_name)
            n = torch_horizon(case.bound, DENSE)
            ours = torch_trace(cls, n, case.lr)
            theirs = torch_trace(
                lambda opt, kind=kind, given=given: getattr(lr_scheduler, kind)(opt, **given),
                n,
                case.lr,
            )
            ok = float64_close(ours, theirs, rel=1e-9)
            steps = np.arange(n)
        else:
            steps = steps_for(case.bound, horizon=HORIZON)
            steps = steps[steps <= 1000]  # Keras's built-ins count in float32
            ours = np.asarray(getattr(kmod, case.schedule.class_name)()(steps), dtype=np.float64)
            initial = {} if kind == "PiecewiseConstantDecay" else {"initial_learning_rate": case.lr}
            builtin = getattr(keras.optimizers.schedules, kind)(**initial, **given)
            theirs = np.array([float(builtin(int(t))) for t in steps])
            peak = float(np.max(np.abs(theirs)))
            ok = np.abs(ours - theirs) <= 2e-5 * np.abs(theirs) + 2e-7 * peak
        if not ok.all():
            problems.append(f"{kind} {given}: {_first_failure(ours, theirs, steps, ok)}")
    assert not problems, "defaults differ from the framework's:\n" + "\n".join(problems)
    assert {c.bound.kind for c in cases} == set(MIRRORED_LEAVES)
