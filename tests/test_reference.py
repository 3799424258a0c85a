"""The reference evaluator on its own: hand-computed values, exactness, input handling.

Expected numbers are written out (or computed with :mod:`math` from the formula in the test),
never produced by the evaluator. The framework-mirrored kinds are compared with torch and Keras
in test_reference_torch.py / test_reference_keras.py / test_reference_plateau.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from lrgen import expr as ex
from lrgen import ir
from lrgen.kinds import KIND_MAP
from lrgen.reference import evaluate

BIG = 2**31 - 1  # a step count past any int32 counter


def schedule(
    node: ir.Node,
    lr: float = 1.0,
    params: dict[str, float] | None = None,
    lr_expr: str | None = None,
) -> ir.Schedule:
    names = frozenset(params or {})
    lr_tree = ex.parse(lr_expr, names) if lr_expr else ex.Num(lr)
    return ir.Schedule(name="s", lr=lr_tree, node=node, params=tuple((params or {}).items()))


def at(node: ir.Node, steps: list[int], lr: float = 1.0) -> np.ndarray:
    return evaluate(schedule(node, lr), np.asarray(steps, dtype=np.int64))


def close(actual: np.ndarray, expected: list[float]) -> None:
    np.testing.assert_allclose(actual, expected, rtol=1e-14, atol=1e-300)


# --- framework-neutral kinds at their boundaries ------------------------------------------------


def test_constant() -> None:
    np.testing.assert_array_equal(
        at(ir.make_node("Constant"), [0, 1, BIG], lr=0.3), [0.3, 0.3, 0.3]
    )


def test_linear_warmup() -> None:
    node = ir.make_node("LinearWarmup", warmup_steps=10)
    close(at(node, [0, 1, 9, 10, 11, BIG], lr=0.5), [0.0, 0.05, 0.45, 0.5, 0.5, 0.5])


def test_exponential_warmup() -> None:
    # start_lr * (lr / start_lr) ** (t / 4) with lr / start_lr = 100: a factor sqrt(10) per step
    node = ir.make_node("ExponentialWarmup", warmup_steps=4, start_lr=1e-4)
    close(
        at(node, [0, 1, 2, 3, 4, 5, BIG], lr=1e-2),
        [1e-4, 1e-4 * math.sqrt(10), 1e-3, 1e-3 * math.sqrt(10), 1e-2, 1e-2, 1e-2],
    )
    default = ir.make_node("ExponentialWarmup", warmup_steps=2)  # start_lr = 1e-7
    close(at(default, [0, 1, 2], lr=1e-3), [1e-7, 1e-5, 1e-3])


def test_cosine_warmup() -> None:
    node = ir.make_node("CosineWarmup", warmup_steps=4)
    half_sqrt2 = math.sqrt(2) / 2
    close(
        at(node, [0, 1, 2, 3, 4, 5, BIG], lr=2.0),
        [0.0, 1 - half_sqrt2, 1.0, 1 + half_sqrt2, 2.0, 2.0, 2.0],
    )


def test_warmup_with_decay() -> None:
    # warmup 10, cosine from 1 to 0.01 over steps 10..110, then 0.01
    node = ir.make_node("WarmupWithDecay", warmup_steps=10, total_steps=110, min_lr=0.01)
    cos = lambda k: 0.01 + 0.99 * (1 + math.cos(math.pi * k / 100)) / 2  # noqa: E731
    close(
        at(node, [0, 1, 9, 10, 11, 60, 109, 110, 111, BIG]),
        [0.0, 0.1, 0.9, 1.0, cos(1), 0.505, cos(99), 0.01, 0.01, 0.01],
    )
    no_warmup = ir.make_node("WarmupWithDecay", warmup_steps=0, total_steps=4)
    close(
        at(no_warmup, [0, 1, 2, 3, 4, 5], lr=2.0),
        [2.0, 1 + math.sqrt(2) / 2, 1.0, 1 - math.sqrt(2) / 2, 0.0, 0.0],
    )


def test_inverse_sqrt() -> None:
    node = ir.make_node("InverseSqrt", warmup_steps=100)  # timescale defaults to warmup_steps
    close(
        at(node, [0, 1, 99, 100, 101, 400, BIG], lr=2.0),
        [0.0, 0.02, 1.98, 2.0, 2 * math.sqrt(100 / 101), 1.0, 2 * math.sqrt(100 / BIG)],
    )
    scaled = ir.make_node("InverseSqrt", warmup_steps=4, timescale=1.0)
    close(at(scaled, [0, 2, 3, 4, 5, 7]), [0.0, 0.5, 0.75, 1.0, math.sqrt(1 / 2), 0.5])


def test_warmup_stable_decay_linear_cosine() -> None:
    # w = 10, s = 20, d = 10, r = 0.1: factor = shape * 0.9 + 0.1
    node = ir.make_node(
        "WarmupStableDecay", warmup_steps=10, stable_steps=20, decay_steps=10, min_lr_ratio=0.1
    )  # warmup linear, decay cosine (the defaults)
    decay = lambda p: 0.5 * (1 + math.cos(math.pi * p)) * 0.9 + 0.1  # noqa: E731
    close(
        at(node, [0, 5, 9, 10, 29, 30, 31, 35, 39, 40, 41, BIG], lr=2.0),
        [0.2, 1.1, 2 * 0.91, 2.0, 2.0, 2.0, 2 * decay(0.1), 1.1, 2 * decay(0.9), 0.2, 0.2, 0.2],
    )


def test_warmup_stable_decay_other_shapes() -> None:
    node = ir.make_node(
        "WarmupStableDecay",
        warmup_steps=4,
        stable_steps=0,
        decay_steps=4,
        warmup_type="cosine",
        decay_type="1-sqrt",
    )
    close(
        at(node, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
        [
            0.0,
            (1 - math.sqrt(2) / 2) / 2,
            0.5,
            (1 + math.sqrt(2) / 2) / 2,
            1.0,
            0.5,
            1 - math.sqrt(0.5),
            1 - math.sqrt(0.75),
            0.0,
            0.0,
        ],
    )
    node = ir.make_node(
        "WarmupStableDecay",
        warmup_steps=4,
        stable_steps=1,
        decay_steps=2,
        warmup_type="1-sqrt",
        decay_type="linear",
        min_lr_ratio=0.5,
    )
    close(
        at(node, [0, 1, 3, 4, 5, 6, 7, BIG]),
        [
            0.5,
            (1 - math.sqrt(0.75)) * 0.5 + 0.5,
            (1 - math.sqrt(0.25)) * 0.5 + 0.5,
            1.0,
            1.0,
            0.75,
            0.5,
            0.5,
        ],
    )
    no_warmup = ir.make_node(
        "WarmupStableDecay", warmup_steps=0, stable_steps=0, decay_steps=2, decay_type="linear"
    )
    close(at(no_warmup, [0, 1, 2, 3]), [1.0, 0.5, 0.0, 0.0])


# --- a few mirrored kinds at their boundaries (and at huge steps) --------------------------------


def test_step_and_multistep_boundaries() -> None:
    close(
        at(ir.make_node("StepLR", step_size=3, gamma=0.5), [0, 2, 3, 5, 6, 3 * 40]),
        [1.0, 1.0, 0.5, 0.5, 0.25, 0.5**40],
    )
    close(
        at(ir.make_node("MultiStepLR", milestones=[2, 5], gamma=0.5), [0, 1, 2, 4, 5, BIG]),
        [1.0, 1.0, 0.5, 0.5, 0.25, 0.25],
    )


def test_piecewise_constant_boundary_rule() -> None:
    node = ir.make_node("PiecewiseConstantDecay", boundaries=[0, 10], values=[3.0, 2.0, 1.0])
    np.testing.assert_array_equal(at(node, [0, 1, 10, 11, BIG]), [3.0, 2.0, 2.0, 1.0, 1.0])


def test_polynomial_decay_cycle_multiplier() -> None:
    # D = 4, cycle: D' = 4 * max(1, ceil(t / 4)); (1 - 0.5) * (1 - t / D') + 0.5 with power 1
    node = ir.make_node("PolynomialDecay", decay_steps=4, end_learning_rate=0.5, cycle=True)
    close(
        at(node, [0, 2, 4, 5, 8, 9]),
        [1.0, 0.75, 0.5, 0.5 * (1 - 5 / 8) + 0.5, 0.5, 0.5 * (1 - 9 / 12) + 0.5],
    )


def test_cosine_annealing_warm_restarts_exact_at_huge_steps() -> None:
    """T_0 = 1, T_mult = 2: cycle n starts at 2**n - 1 and lasts 2**n steps."""
    node = ir.make_node("CosineAnnealingWarmRestarts", T_0=1, T_mult=2, eta_min=0.0)
    ours = at(node, [2**30 - 2, 2**30 - 1, 2**30, 2**62 - 1])
    assert ours[1] == 1.0 and ours[3] == 1.0  # restarts: T_cur = 0
    # one step before: T_cur = 2**29 - 1 of T_i = 2**29; one step after: T_cur = 1 of 2**30
    close(
        ours[[0, 2]],
        [(1 + math.cos(math.pi * (2**29 - 1) / 2**29)) / 2, (1 + math.cos(math.pi / 2**30)) / 2],
    )


def test_cosine_annealing_warm_restarts_beyond_float64_integers() -> None:
    """T_0 = 5, T_mult = 3: S_n = 5 * (3**n - 1) / 2; S_35 ~ 1.25e17 > 2**53."""
    node = ir.make_node("CosineAnnealingWarmRestarts", T_0=5, T_mult=3, eta_min=0.5)
    start = 5 * (3**35 - 1) // 2
    previous_length = 5 * 3**34
    ours = at(node, [start - 1, start, start + 1], lr=1.5)
    assert ours[1] == 1.5
    close(
        ours[[0, 2]],
        [
            0.5 + (1 + math.cos(math.pi * (previous_length - 1) / previous_length)) / 2,
            0.5 + (1 + math.cos(math.pi / (5 * 3**35))) / 2,
        ],
    )


def test_cosine_decay_restarts_huge_integer_steps() -> None:
    node = ir.make_node("CosineDecayRestarts", first_decay_steps=3, t_mul=2.0, m_mul=0.5)
    start = 3 * (2**50 - 1)  # period 50
    ours = at(node, [start - 1, start, start + 1], lr=2.0)
    assert ours[1] == 2.0 * 0.5**50
    close(
        ours[[0, 2]],
        [
            0.5**49 * (1 + math.cos(math.pi * (3 * 2**49 - 1) / (3 * 2**49))),
            0.5**50 * (1 + math.cos(math.pi / (3 * 2**50))),
        ],
    )


def test_cyclic_lr_huge_steps() -> None:
    # cycle length 3 + 5 = 8; at t ~ 8e15 > 2**53 a float position t / 8 would be off
    node = ir.make_node("CyclicLR", base_lr=0.1, max_lr=0.5, step_size_up=3, step_size_down=5)
    base = (10**15 - 1) * 8
    close(
        at(node, [base, base + 1, base + 3, base + 4, base + 7, base + 8]),
        [0.1, 0.1 + 0.4 / 3, 0.5, 0.1 + 0.4 * 4 / 5, 0.1 + 0.4 / 5, 0.1],
    )
    halving = ir.make_node(
        "CyclicLR", base_lr=0.1, max_lr=0.5, step_size_up=3, step_size_down=5, mode="triangular2"
    )
    close(
        at(halving, [0, 1, 3, 4, 8, 11, 8 * 9 + 3]),
        [0.1, 0.1 + 0.4 / 3, 0.5, 0.1 + 0.4 * 0.8, 0.1, 0.1 + 0.4 / 2, 0.1 + 0.4 / 2**9],
    )


def test_exponential_and_lambda_at_huge_steps() -> None:
    np.testing.assert_array_equal(at(ir.make_node("ExponentialLR", gamma=0.5), [BIG]), [0.0])
    node = ir.make_node("LambdaLR", lr_lambda="1 / (1 + t)")
    close(at(node, [0, 1, BIG], lr=2.0), [2.0, 1.0, 2 / 2**31])


# --- composition --------------------------------------------------------------------------------


def warmup_cosine(warmup: int, total: int) -> ir.Node:
    return ir.make_node(
        "SequentialLR",
        milestones=[warmup],
        schedulers=[
            ir.make_node("LinearLR", start_factor=0.01, total_iters=warmup),
            ir.make_node("CosineAnnealingLR", T_max=total - warmup, eta_min=1e-6),
        ],
    )


def test_sequential_children_run_on_their_own_clock() -> None:
    node = warmup_cosine(10, 110)
    cos = lambda k: 1e-6 + (1.0 - 1e-6) * (1 + math.cos(math.pi * k / 100)) / 2  # noqa: E731
    close(
        at(node, [0, 5, 9, 10, 11, 60, 110, 111]),
        [0.01, 0.01 + 0.99 * 0.5, 0.01 + 0.99 * 0.9, 1.0, cos(1), cos(50), 1e-6, cos(101)],
    )


def test_chained_multiplies_multipliers() -> None:
    node = ir.make_node(
        "ChainedScheduler",
        schedulers=[
            ir.make_node("ConstantLR", factor=0.5, total_iters=2),
            ir.make_node("StepLR", step_size=3, gamma=0.1),
        ],
    )
    close(at(node, [0, 1, 2, 3, 6], lr=2.0), [1.0, 1.0, 2.0, 0.2, 0.02])


def test_ten_million_steps_without_a_python_loop() -> None:
    """10**7 steps of warmup + cosine evaluate at once (no per-step loop would finish quickly)."""
    total, warmup = 10**7, 10**5
    steps = np.arange(total)
    values = evaluate(schedule(warmup_cosine(warmup, total), lr=3e-4), steps)
    assert values.shape == (total,) and values.dtype == np.float64
    decay = total - warmup
    cos = lambda k: 1e-6 + (3e-4 - 1e-6) * (1 + math.cos(math.pi * k / decay)) / 2  # noqa: E731
    picks = [0, warmup - 1, warmup, warmup + decay // 2, total - 1]
    close(
        values[picks],
        [3e-6, 3e-4 * (0.01 + 0.99 * (warmup - 1) / warmup), 3e-4, cos(decay // 2), cos(decay - 1)],
    )


# --- input handling -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([-1], "must be >= 0, got -1"),
        ([0, 2, -3], "must be >= 0, got -3"),
        ([0.5], "must be integers, got 0.5"),
        ([1.0, 2.25], "must be integers, got 2.25"),
        ([float("nan")], "got nan or inf"),
        ([float("inf")], "got nan or inf"),
        ([True, False], "got booleans"),
        (["1"], "dtype <U1"),
        ([1 + 2j], "dtype complex128"),
        ([2**63], "at most 9223372036854775807"),
        ([2**70], "at most 9223372036854775807"),
        ([2.0**63], "at most 9223372036854775807"),
        (np.array([2**64 - 1], dtype=np.uint64), "at most 9223372036854775807"),
        (np.array([1, None], dtype=object), "must be integers >= 0"),
        ([-(2**70)], "must be >= 0, got -1180591620717411303424"),
    ],
)
def test_bad_steps_raise(steps: object, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        evaluate(schedule(ir.make_node("Constant")), steps)


def test_shapes_and_input_types_are_preserved() -> None:
    s = schedule(ir.make_node("LinearWarmup", warmup_steps=4))
    scalar = evaluate(s, 2)
    assert isinstance(scalar, np.ndarray) and scalar.shape == () and scalar == 0.5
    grid = evaluate(s, np.array([[0, 1, 2], [3, 4, 5]], dtype=np.int32))
    assert grid.shape == (2, 3) and grid.dtype == np.float64
    np.testing.assert_array_equal(grid, [[0.0, 0.25, 0.5], [0.75, 1.0, 1.0]])
    assert evaluate(s, []).shape == (0,)
    assert evaluate(s, np.zeros((3, 0), dtype=np.int64)).shape == (3, 0)
    np.testing.assert_array_equal(evaluate(s, [1.0, 3.0]), [0.25, 0.75])  # integral floats
    np.testing.assert_array_equal(evaluate(s, np.array([2], dtype=np.uint8)), [0.5])
    np.testing.assert_array_equal(evaluate(s, range(3)), [0.0, 0.25, 0.5])
    np.testing.assert_array_equal(evaluate(s, np.array([7, 2**62], dtype=object)), [1.0, 1.0])


def test_params_override_defaults() -> None:
    params = {"warmup": 10.0, "total": 110.0, "peak": 1.0}
    node = ir.make_node(
        "SequentialLR",
        param_names=frozenset(params),
        milestones=["warmup"],
        schedulers=[
            ir.make_node(
                "LinearLR", param_names=frozenset(params), start_factor=0.01, total_iters="warmup"
            ),
            ir.make_node(
                "CosineAnnealingLR", param_names=frozenset(params), T_max="total - warmup"
            ),
        ],
    )
    s = schedule(node, params=params, lr_expr="peak / 10")
    defaults = evaluate(s, [0, 10, 20, 60])
    close(defaults, [0.001, 0.1, 0.1 * (1 + math.cos(math.pi * 10 / 100)) / 2, 0.05])
    overridden = evaluate(s, [0, 10, 20, 60], params={"warmup": 20, "peak": 2.0})
    close(
        overridden,
        [0.002, 0.2 * (0.01 + 0.99 * 10 / 20), 0.2, 0.2 * (1 + math.cos(math.pi * 40 / 90)) / 2],
    )
    with pytest.raises(ValueError, match="unknown parameter 'nope'"):
        evaluate(s, [0], params={"nope": 1.0})
    with pytest.raises(ValueError, match="must be an integer"):
        evaluate(s, [0], params={"warmup": 2.5})


def test_every_registered_kind_has_a_reference() -> None:
    """Adding a kind to the registry without a reference definition fails here."""
    minimal = {
        "StepLR": {"step_size": 2},
        "MultiStepLR": {"milestones": [2]},
        "ConstantLR": {},
        "LinearLR": {},
        "ExponentialLR": {"gamma": 0.5},
        "PolynomialLR": {},
        "CosineAnnealingLR": {"T_max": 4},
        "CosineAnnealingWarmRestarts": {"T_0": 2},
        "CyclicLR": {"base_lr": 0.1, "max_lr": 1.0},
        "OneCycleLR": {"max_lr": 1.0, "total_steps": 10},
        "LambdaLR": {"lr_lambda": "0.5"},
        "SequentialLR": {"schedulers": [ir.make_node("Constant")], "milestones": []},
        "ChainedScheduler": {"schedulers": [ir.make_node("Constant")]},
        "ReduceLROnPlateau": {},
        "ExponentialDecay": {"decay_steps": 2, "decay_rate": 0.5},
        "PiecewiseConstantDecay": {"boundaries": [2], "values": [1.0, 0.5]},
        "PolynomialDecay": {"decay_steps": 2},
        "InverseTimeDecay": {"decay_steps": 2, "decay_rate": 1.0},
        "CosineDecay": {"decay_steps": 2},
        "CosineDecayRestarts": {"first_decay_steps": 2},
        "Constant": {},
        "LinearWarmup": {"warmup_steps": 2},
        "ExponentialWarmup": {"warmup_steps": 2},
        "CosineWarmup": {"warmup_steps": 2},
        "WarmupWithDecay": {"warmup_steps": 1, "total_steps": 3},
        "InverseSqrt": {"warmup_steps": 2},
        "WarmupStableDecay": {"warmup_steps": 1, "stable_steps": 1, "decay_steps": 1},
    }
    # A kind not listed here is evaluated on its registry example (a new kind needs no entry).
    assert set(minimal) <= set(KIND_MAP)
    for kind in KIND_MAP:
        example = KIND_MAP[kind].example
        assert example is not None
        fields = minimal.get(kind, example.fields)
        metrics = [1.0] * 4 if KIND_MAP[kind].metric_driven else None
        values = evaluate(
            schedule(ir.make_node(kind, **fields), lr=0.5), [0, 1, 2, 3, 4], metrics=metrics
        )
        assert values.shape == (5,) and np.all(np.isfinite(values) & (values >= 0)), kind
