"""ReduceLROnPlateau in the reference evaluator against torch's, epoch by epoch.

``lr(t)`` is the learning rate after ``t`` calls of torch's ``step(metrics[0..t-1])``; both sides
run the same float64 comparisons and products, so the traces must be identical.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

from lrgen import expr as ex
from lrgen import ir
from lrgen.reference import evaluate

NAN, INF = math.nan, math.inf


def schedule(node: ir.Node, lr: float = 1.0, params: dict[str, float] | None = None):
    return ir.Schedule(name="s", lr=ex.Num(lr), node=node, params=tuple((params or {}).items()))


def torch_trace(lr: float, metrics: list[float], **kwargs) -> np.ndarray:
    """lr before any step, then after each ``step(metric)``."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
    trace = [opt.param_groups[0]["lr"]]
    for metric in metrics:
        sched.step(metric)
        trace.append(opt.param_groups[0]["lr"])
        assert sched.get_last_lr()[0] == trace[-1]
    return np.asarray(trace, dtype=np.float64)


configs = st.fixed_dictionaries(
    {
        "mode": st.sampled_from(["min", "max"]),
        "factor": st.sampled_from([0.0, 0.1, 0.5]) | st.floats(0.0, 0.99),
        "patience": st.integers(0, 6),
        "threshold": st.sampled_from([0.0, 1e-4, 0.1, 0.5]) | st.floats(0.0, 0.5),
        "threshold_mode": st.sampled_from(["rel", "abs"]),
        "cooldown": st.integers(0, 4),
        "min_lr_ratio": st.sampled_from([0.0, 1e-3]) | st.floats(0.0, 1.0),
        "eps": st.sampled_from([0.0, 1e-8, 1e-3, 0.05]) | st.floats(0.0, 0.1),
    }
)


@st.composite
def cases(draw: st.DrawFn) -> tuple[dict, list[float]]:
    """A config, and metrics with plateaus, noise, NaN, infinities and exact threshold ties.

    A tie needs the exact product/difference the comparison computes: from a few base values v,
    offer v * (1 - threshold), v * (1 + threshold), v - threshold and v + threshold.
    """
    config = draw(configs)
    threshold = config["threshold"]
    bases = draw(st.lists(st.floats(-10.0, 10.0), min_size=1, max_size=4))
    pool = [NAN, INF, -INF]
    for v in bases:
        pool += [v, v * (1.0 - threshold), v * (threshold + 1.0), v - threshold, v + threshold]
    value = st.sampled_from(pool) | st.floats(-100.0, 100.0)
    plateau = st.tuples(value, st.integers(1, 15)).map(lambda vk: [vk[0]] * vk[1])
    segments = draw(st.lists(plateau | st.lists(value, max_size=10), max_size=20))
    return config, [m for segment in segments for m in segment]


TIES = {
    "mode": "min",
    "factor": 0.5,
    "patience": 1,
    "threshold": 0.5,
    "threshold_mode": "rel",
    "cooldown": 0,
    "min_lr_ratio": 0.0,
    "eps": 1e-8,
}


@given(case=cases(), lr=st.floats(1e-4, 1.0))
@example(case=(TIES, [1.0, 0.5, 0.5, 0.25, NAN, NAN, 0.1, NAN]), lr=1.0)
@example(
    case=(
        {**TIES, "mode": "max", "threshold_mode": "abs", "threshold": 0.25},
        [1.0, 1.25, 1.25, 1.5, NAN, -INF, INF, INF],
    ),
    lr=0.1,
)
@example(case=({**TIES, "threshold": 1.0}, [1.0, 0.0, -1.0]), lr=1.0)  # inf * 0 is nan: never
def test_matches_torch(case: tuple[dict, list[float]], lr: float) -> None:
    config, metrics = case
    kwargs = {k: v for k, v in config.items() if k != "min_lr_ratio"}
    kwargs["min_lr"] = config["min_lr_ratio"] * lr
    theirs = torch_trace(lr, metrics, **kwargs)
    node = ir.make_node("ReduceLROnPlateau", **kwargs)
    steps = np.arange(len(metrics) + 1)
    ours = evaluate(schedule(node, lr), steps, metrics=metrics)
    np.testing.assert_array_equal(ours, theirs)
    # any order and shape of steps, and a longer metric sequence than needed
    shuffled = np.random.default_rng(len(metrics)).permutation(steps).reshape(-1, 1)
    again = evaluate(schedule(node, lr), shuffled, metrics=[*metrics, 0.0, 1.0])
    np.testing.assert_array_equal(again, theirs[shuffled])


def test_hand_computed_trace_with_ties_and_nan() -> None:
    """min/rel, threshold 0.5, patience 1, factor 0.5, cooldown 1.

    step: metric -> better?  bad  cooldown  lr after
      1:  1.0    yes (< inf)   0    0        1
      2:  0.5    no (tie: 0.5 < 1.0 * 0.5 is false)  1   0   1
      3:  0.5    no            2 > 1: reduce, cooldown 1, bad 0    0.5
      4:  0.2    yes           0    in cooldown -> 0      0.5
      5:  nan    no (nan compares false)   1              0.5
      6:  nan    no            2 > 1: reduce             0.25
      7:  nan    no            1, in cooldown -> 0, 0    0.25
      8:  nan    no            1                         0.25
      9:  nan    no            2 > 1: reduce             0.125
    """
    node = ir.make_node("ReduceLROnPlateau", factor=0.5, patience=1, threshold=0.5, cooldown=1)
    metrics = [1.0, 0.5, 0.5, 0.2, NAN, NAN, NAN, NAN, NAN]
    ours = evaluate(schedule(node), np.arange(10), metrics=metrics)
    expected = [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125]
    np.testing.assert_array_equal(ours, expected)
    np.testing.assert_array_equal(
        torch_trace(1.0, metrics, factor=0.5, patience=1, threshold=0.5, cooldown=1), expected
    )


def test_eps_skips_small_reductions_and_min_lr_floors() -> None:
    node = ir.make_node("ReduceLROnPlateau", factor=0.5, patience=0, min_lr=0.3, eps=0.1)
    # 1 -> 0.5 (step 2), then max(0.25, 0.3) = 0.3 (a reduction of 0.2 > eps), then
    # max(0.15, 0.3) = 0.3: a reduction of 0 <= eps, skipped.
    ours = evaluate(schedule(node), np.arange(5), metrics=[1.0, 2.0, 2.0, 2.0])
    np.testing.assert_array_equal(ours, [1.0, 1.0, 0.5, 0.3, 0.3])
    node = ir.make_node("ReduceLROnPlateau", factor=0.95, patience=0, eps=0.1)
    ours = evaluate(schedule(node), np.arange(4), metrics=[1.0, 2.0, 2.0])
    np.testing.assert_array_equal(ours, [1.0, 1.0, 1.0, 1.0])  # 0.05 <= eps: never reduced


def test_params_drive_the_fields() -> None:
    names = frozenset({"p", "f"})
    node = ir.make_node("ReduceLROnPlateau", param_names=names, patience="p", factor="f")
    s = schedule(node, params={"p": 0, "f": 0.5})
    metrics = [1.0, 1.0, 1.0, 1.0]
    np.testing.assert_array_equal(
        evaluate(s, np.arange(5), metrics=metrics), [1.0, 1.0, 0.5, 0.25, 0.125]
    )
    np.testing.assert_array_equal(
        evaluate(s, np.arange(5), metrics=metrics, params={"p": 2, "f": 0.1}),
        [1.0, 1.0, 1.0, 1.0, 0.1],
    )


def test_metric_errors() -> None:
    s = schedule(ir.make_node("ReduceLROnPlateau"))
    with pytest.raises(ValueError, match="needs metrics="):
        evaluate(s, [0, 1])
    with pytest.raises(ValueError, match=r"lr\(3\) needs 3 metrics .* got 2"):
        evaluate(s, [0, 3, 1], metrics=[1.0, 2.0])
    with pytest.raises(ValueError, match="one-dimensional"):
        evaluate(s, [0, 1], metrics=[[1.0], [2.0]])
    with pytest.raises(ValueError, match="sequence of numbers"):
        evaluate(s, [0, 1], metrics=["a", "b"])
    np.testing.assert_array_equal(evaluate(s, [0, 0], metrics=[]), [1.0, 1.0])
    other = schedule(ir.make_node("Constant"))
    with pytest.raises(ValueError, match="only used by a metric-driven schedule"):
        evaluate(other, [0, 1], metrics=[1.0])


def test_plateau_is_top_level_only() -> None:
    nested = ir.make_node(
        "SequentialLR",
        milestones=[2],
        schedulers=[ir.make_node("Constant"), ir.make_node("ReduceLROnPlateau")],
    )
    with pytest.raises(ValueError, match="only allowed as the top-level node"):
        evaluate(schedule(nested), [0, 3])
