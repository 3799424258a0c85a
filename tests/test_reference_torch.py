"""The reference evaluator against torch's own schedulers, kind by kind (torch-mirrored kinds).

Each test draws random parameters, builds the torch built-in on a one-parameter SGD optimizer,
records ``get_last_lr()[0]`` before each ``step()``, and compares it with
:func:`lrgen.reference.evaluate` on the same steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import torch
from hypothesis import assume, example, given
from hypothesis import strategies as st
from torch.optim import lr_scheduler as tls

from lrgen import expr as ex
from lrgen import ir
from lrgen.reference import evaluate, momentum

N = 600  # steps compared: at least 500, past several periods of every drawn schedule

lrs = st.floats(1e-4, 1.0)
gammas = st.floats(0.5, 0.999)  # torch's recurrent forms stay meaningful (no underflow to 0)
short = st.integers(1, 100)  # periods short enough to repeat within N steps
horizon = st.integers(1, N + 100)  # lengths that may end inside or after the compared steps


def schedule(node: ir.Node, lr: float, params: dict[str, float] | None = None) -> ir.Schedule:
    return ir.Schedule(name="s", lr=ex.Num(lr), node=node, params=tuple((params or {}).items()))


def torch_trace(
    build: Callable[[torch.optim.Optimizer], tls.LRScheduler], lr: float, n: int = N
) -> tuple[np.ndarray, np.ndarray]:
    """Learning rate and momentum of torch's scheduler before each of ``n`` ``step()`` calls."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr, momentum=0.5)
    sched = build(opt)
    lr_trace, momentum_trace = [], []
    for t in range(n):
        if t:
            opt.step()  # before sched.step(), as torch expects (no gradient: a no-op)
            sched.step()
        lr_trace.append(sched.get_last_lr()[0])
        momentum_trace.append(opt.param_groups[0]["momentum"])
    return np.asarray(lr_trace, dtype=np.float64), np.asarray(momentum_trace, dtype=np.float64)


def assert_matches_torch(ours: np.ndarray, theirs: np.ndarray, peak: float) -> None:
    # Closed form against torch's recurrent forms (StepLR, LinearLR, CosineAnnealingLR, ...
    # multiply the previous lr each step): ~1 ulp of roundoff per step stays far below 1e-9
    # relative over N steps. Near a zero of the schedule (a cosine trough at eta_min = 0, the
    # end of PolynomialLR) both forms lose relative accuracy to cancellation in 1 + cos(x) or
    # 1 - t/T, so an absolute floor of 1e-12 * peak (1e4 ulps of the peak) covers those points
    # without hiding any real difference (a wrong step shows up at least at ~1e-6 * peak).
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12 * peak)


def check(node: ir.Node, lr: float, build: Callable, peak: float | None = None) -> None:
    theirs, _ = torch_trace(build, lr)
    ours = evaluate(schedule(node, lr), np.arange(N))
    assert ours.dtype == np.float64
    assert_matches_torch(ours, theirs, peak if peak is not None else lr)


# --- closed-form kinds ----------------------------------------------------------------------------


@given(lr=lrs, step_size=short, gamma=gammas)
@example(lr=0.1, step_size=1, gamma=0.5)
def test_step_lr(lr: float, step_size: int, gamma: float) -> None:
    check(
        ir.make_node("StepLR", step_size=step_size, gamma=gamma),
        lr,
        lambda opt: tls.StepLR(opt, step_size=step_size, gamma=gamma),
    )


@given(
    lr=lrs,
    milestones=st.lists(st.integers(1, N + 50), min_size=1, max_size=8, unique=True).map(sorted),
    gamma=gammas,
)
@example(lr=0.1, milestones=[1, 2, N - 1], gamma=0.5)
def test_multi_step_lr(lr: float, milestones: list[int], gamma: float) -> None:
    check(
        ir.make_node("MultiStepLR", milestones=milestones, gamma=gamma),
        lr,
        lambda opt: tls.MultiStepLR(opt, milestones=milestones, gamma=gamma),
    )


@given(lr=lrs, factor=st.floats(0.05, 1.0), total_iters=st.integers(1, N + 50))
@example(lr=0.1, factor=1 / 3, total_iters=5)
@example(lr=0.1, factor=0.5, total_iters=1)
def test_constant_lr(lr: float, factor: float, total_iters: int) -> None:
    # factor 0 is valid in lrgen but torch divides by it at total_iters; start at 0.05.
    # total_iters 0: see test_constant_lr_zero_total_iters.
    check(
        ir.make_node("ConstantLR", factor=factor, total_iters=total_iters),
        lr,
        lambda opt: tls.ConstantLR(opt, factor=factor, total_iters=total_iters),
    )


def test_constant_lr_zero_total_iters() -> None:
    """total_iters = 0 means no scaled phase: lr throughout, as torch's closed form says.

    torch's stepping form scales at step 0 and only undoes it when last_epoch == total_iters,
    which never happens after step 0, so it keeps lr * factor forever (a torch quirk).
    """
    node = ir.make_node("ConstantLR", factor=0.5, total_iters=0)
    theirs, _ = torch_trace(lambda opt: tls.ConstantLR(opt, factor=0.5, total_iters=0), 0.1, 10)
    np.testing.assert_array_equal(theirs, 0.05)  # the quirk, so this test notices a torch fix
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    closed = tls.ConstantLR(opt, factor=0.5, total_iters=0)
    closed.last_epoch = 3
    assert closed._get_closed_form_lr() == [0.1]
    np.testing.assert_array_equal(evaluate(schedule(node, 0.1), np.arange(10)), 0.1)


@given(lr=lrs, start=st.floats(0.01, 1.0), end=st.floats(0.0, 1.0), total_iters=horizon)
@example(lr=0.1, start=1 / 3, end=1.0, total_iters=5)
@example(lr=0.1, start=1.0, end=0.0, total_iters=N - 1)
def test_linear_lr(lr: float, start: float, end: float, total_iters: int) -> None:
    node = ir.make_node("LinearLR", start_factor=start, end_factor=end, total_iters=total_iters)
    check(
        node,
        lr,
        lambda opt: tls.LinearLR(opt, start_factor=start, end_factor=end, total_iters=total_iters),
    )


@given(lr=lrs, gamma=st.floats(0.97, 0.999))
@example(lr=1.0, gamma=0.97)
def test_exponential_lr(lr: float, gamma: float) -> None:
    # gamma >= 0.97 keeps gamma**600 >= 1e-8: a recurrent product that is still far from
    # underflow, so the comparison is relative over the whole trace.
    check(
        ir.make_node("ExponentialLR", gamma=gamma),
        lr,
        lambda opt: tls.ExponentialLR(opt, gamma=gamma),
    )


@given(lr=lrs, total_iters=horizon, power=st.floats(0.0, 3.0))
@example(lr=0.1, total_iters=5, power=1.0)
@example(lr=0.1, total_iters=N - 1, power=0.5)
@example(lr=0.1, total_iters=3, power=0.0)
def test_polynomial_lr(lr: float, total_iters: int, power: float) -> None:
    check(
        ir.make_node("PolynomialLR", total_iters=total_iters, power=power),
        lr,
        lambda opt: tls.PolynomialLR(opt, total_iters=total_iters, power=power),
    )


@given(lr=lrs, t_max=st.integers(1, 400), eta_ratio=st.floats(0.0, 0.9))
@example(lr=0.1, t_max=1, eta_ratio=0.0)
@example(lr=0.1, t_max=N // 3, eta_ratio=0.0)  # two full periods: rises again past T_max
def test_cosine_annealing_lr(lr: float, t_max: int, eta_ratio: float) -> None:
    eta_min = eta_ratio * lr
    check(
        ir.make_node("CosineAnnealingLR", T_max=t_max, eta_min=eta_min),
        lr,
        lambda opt: tls.CosineAnnealingLR(opt, T_max=t_max, eta_min=eta_min),
    )


@given(lr=lrs, t_0=short, t_mult=st.integers(1, 4), eta_ratio=st.floats(0.0, 0.9))
@example(lr=0.1, t_0=1, t_mult=2, eta_ratio=0.0)
@example(lr=0.1, t_0=1, t_mult=1, eta_ratio=0.0)
@example(lr=0.1, t_0=7, t_mult=3, eta_ratio=0.1)
def test_cosine_annealing_warm_restarts(lr: float, t_0: int, t_mult: int, eta_ratio: float) -> None:
    # torch stepped one tick at a time tracks T_cur and T_i with integers: exact restarts.
    eta_min = eta_ratio * lr
    node = ir.make_node("CosineAnnealingWarmRestarts", T_0=t_0, T_mult=t_mult, eta_min=eta_min)
    check(
        node,
        lr,
        lambda opt: tls.CosineAnnealingWarmRestarts(opt, T_0=t_0, T_mult=t_mult, eta_min=eta_min),
    )


# --- CyclicLR -------------------------------------------------------------------------------------

cyclic_sizes = st.tuples(short, st.none() | short)


@given(
    base_lr=lrs,
    height=st.floats(1e-4, 1.0),
    sizes=cyclic_sizes,
    mode=st.sampled_from(["triangular", "triangular2", "exp_range"]),
    gamma=st.floats(0.99, 1.0),
)
@example(base_lr=0.01, height=0.1, sizes=(1, None), mode="triangular", gamma=1.0)
@example(base_lr=0.01, height=0.1, sizes=(3, 7), mode="triangular2", gamma=1.0)
@example(base_lr=0.01, height=0.1, sizes=(50, 1), mode="exp_range", gamma=0.995)
def test_cyclic_lr_modes(
    base_lr: float, height: float, sizes: tuple[int, int | None], mode: str, gamma: float
) -> None:
    up, down = sizes
    max_lr = base_lr + height
    fields = dict(
        base_lr=base_lr, max_lr=max_lr, step_size_up=up, step_size_down=down, mode=mode, gamma=gamma
    )
    node = ir.make_node("CyclicLR", **fields)
    build = lambda opt: tls.CyclicLR(opt, **fields)  # noqa: E731
    # The schedule's lr is not used by CyclicLR (absolute values): give torch a different one.
    theirs, their_momentum = torch_trace(build, lr=0.5)
    s = schedule(node, lr=0.5)
    assert_matches_torch(evaluate(s, np.arange(N)), theirs, max_lr)
    np.testing.assert_allclose(momentum(s, np.arange(N)), their_momentum, rtol=1e-9, atol=1e-12)


# scale_fn as an lrgen expression in x, and the same function for torch
SCALE_FNS = {
    "1 / (1 + 0.1 * x)": lambda x: 1 / (1 + 0.1 * x),
    "0.5 ** (x / 100)": lambda x: 0.5 ** (x / 100),
    "1 if x < 3 else 0.25": lambda x: 1 if x < 3 else 0.25,
    "exp(-x / k)": None,  # closes over the param k (filled in the test)
}


@given(
    base_lr=lrs,
    height=st.floats(1e-4, 1.0),
    sizes=cyclic_sizes,
    scale_fn=st.sampled_from(sorted(SCALE_FNS)),
    scale_mode=st.sampled_from([None, "cycle", "iterations"]),
    k=st.floats(1.0, 500.0),
)
@example(base_lr=0.01, height=0.1, sizes=(2, None), scale_fn="exp(-x / k)", scale_mode=None, k=3.0)
def test_cyclic_lr_scale_fn(
    base_lr: float,
    height: float,
    sizes: tuple[int, int | None],
    scale_fn: str,
    scale_mode: str | None,
    k: float,
) -> None:
    up, down = sizes
    max_lr = base_lr + height
    node = ir.make_node(
        "CyclicLR",
        param_names=frozenset({"k"}),
        base_lr=base_lr,
        max_lr=max_lr,
        step_size_up=up,
        step_size_down=down,
        scale_fn=scale_fn,
        scale_mode=scale_mode,
        mode="exp_range",
    )  # mode is ignored with scale_fn
    fn = SCALE_FNS[scale_fn] or (lambda x: math.exp(-x / k))
    theirs, their_momentum = torch_trace(
        lambda opt: tls.CyclicLR(
            opt,
            base_lr=base_lr,
            max_lr=max_lr,
            step_size_up=up,
            step_size_down=down,
            scale_fn=fn,
            scale_mode=scale_mode or "cycle",
        ),
        lr=0.5,
    )
    # The declared default of k differs from the value used: params= must override it.
    s = schedule(node, lr=0.5, params={"k": k + 1.0})
    assert_matches_torch(evaluate(s, np.arange(N), params={"k": k}), theirs, max_lr)
    np.testing.assert_allclose(
        momentum(s, np.arange(N), params={"k": k}), their_momentum, rtol=1e-9, atol=1e-12
    )


# --- OneCycleLR -----------------------------------------------------------------------------------


def zero_length_first_phase(total: int, pct_start: float) -> bool:
    # pct_start * total == 1: torch's first phase ends at step 0 and get_lr divides 0 by 0.
    return float(pct_start * total) - 1 == 0


one_cycle_fields = st.fixed_dictionaries(
    {
        "max_lr": lrs,
        "pct_start": st.floats(0.01, 0.99),
        "anneal_strategy": st.sampled_from(["cos", "linear"]),
        "div_factor": st.floats(1.0, 100.0),
        "final_div_factor": st.floats(1.0, 1e4),
        "three_phase": st.booleans(),
        "base_momentum": st.floats(0.5, 0.9),
        "max_momentum": st.floats(0.9, 0.99),
    }
)


@given(fields=one_cycle_fields, total=st.integers(1, N + 100))
@example(
    fields={
        "max_lr": 0.1,
        "pct_start": 0.3,
        "anneal_strategy": "cos",
        "div_factor": 25.0,
        "final_div_factor": 1e4,
        "three_phase": False,
        "base_momentum": 0.85,
        "max_momentum": 0.95,
    },
    total=N,
)
@example(
    fields={
        "max_lr": 0.1,
        "pct_start": 0.6,
        "anneal_strategy": "linear",
        "div_factor": 25.0,
        "final_div_factor": 1e4,
        "three_phase": True,
        "base_momentum": 0.85,
        "max_momentum": 0.95,
    },
    total=5,
)  # e2 == total - 1
@example(
    fields={
        "max_lr": 0.1,
        "pct_start": 0.05,
        "anneal_strategy": "cos",
        "div_factor": 25.0,
        "final_div_factor": 1e4,
        "three_phase": True,
        "base_momentum": 0.85,
        "max_momentum": 0.95,
    },
    total=10,
)  # e1 < 0
def test_one_cycle_lr(fields: dict, total: int) -> None:
    assume(not zero_length_first_phase(total, fields["pct_start"]))
    node = ir.make_node("OneCycleLR", total_steps=total, **fields)
    theirs, their_momentum = torch_trace(
        lambda opt: tls.OneCycleLR(opt, total_steps=total, **fields), lr=0.5, n=total
    )
    s = schedule(node, lr=0.5)
    steps = np.arange(total)  # torch is defined on [0, total - 1] (see the hold test below)
    assert_matches_torch(evaluate(s, steps), theirs, fields["max_lr"])
    np.testing.assert_allclose(momentum(s, steps), their_momentum, rtol=1e-9, atol=1e-12)


@given(fields=one_cycle_fields, epochs=st.integers(1, 30), steps_per_epoch=st.integers(1, 30))
def test_one_cycle_lr_epochs(fields: dict, epochs: int, steps_per_epoch: int) -> None:
    total = epochs * steps_per_epoch
    assume(not zero_length_first_phase(total, fields["pct_start"]))
    node = ir.make_node("OneCycleLR", epochs=epochs, steps_per_epoch=steps_per_epoch, **fields)
    theirs, _ = torch_trace(
        lambda opt: tls.OneCycleLR(opt, epochs=epochs, steps_per_epoch=steps_per_epoch, **fields),
        lr=0.5,
        n=total,
    )
    assert_matches_torch(evaluate(schedule(node, 0.5), np.arange(total)), theirs, fields["max_lr"])


@given(fields=one_cycle_fields, total=st.integers(1, 2000))
@example(
    fields={
        "max_lr": 0.1,
        "pct_start": 0.6,
        "anneal_strategy": "linear",
        "div_factor": 25.0,
        "final_div_factor": 1e4,
        "three_phase": True,
        "base_momentum": 0.85,
        "max_momentum": 0.95,
    },
    total=5,
)  # e2 == total - 1
@example(
    fields={
        "max_lr": 1.0,
        "pct_start": 0.875,
        "anneal_strategy": "cos",
        "div_factor": 1.0,
        "final_div_factor": 1.0,
        "three_phase": True,
        "base_momentum": 0.5,
        "max_momentum": 0.9375,
    },
    total=3,
)  # e2 > total - 1
def test_one_cycle_lr_holds_its_final_value(fields: dict, total: int) -> None:
    """lrgen difference: from total-1 on the rate stays at its value there (torch raises)."""
    assume(not zero_length_first_phase(total, fields["pct_start"]))
    node = ir.make_node("OneCycleLR", total_steps=total, **fields)
    s = schedule(node, lr=0.5)
    after = np.array([total - 1, total, total + 1, 2 * total + 3, 10**6, 2**40, 2**62])
    held, held_momentum = evaluate(s, after), momentum(s, after)
    assert held_momentum is not None
    np.testing.assert_array_equal(held, held[0])
    np.testing.assert_array_equal(held_momentum, held_momentum[0])
    theirs, their_momentum = torch_trace(
        lambda opt: tls.OneCycleLR(opt, total_steps=total, **fields), lr=0.5, n=total
    )
    assert_matches_torch(held[:1], theirs[-1:], fields["max_lr"])
    np.testing.assert_allclose(held_momentum[0], their_momentum[-1], rtol=1e-9)
    ends_before_last_phase = (
        float(2 * fields["pct_start"] * total) - 2 < total - 1 if fields["three_phase"] else True
    )
    if ends_before_last_phase:  # the last phase ends at total-1 with pct = 1: min_lr
        min_lr = fields["max_lr"] / fields["div_factor"] / fields["final_div_factor"]
        # cos gives min_lr exactly; linear (min_lr - a) * 1 + a is within an ulp of a.
        np.testing.assert_allclose(held, min_lr, rtol=1e-12, atol=1e-15 * fields["max_lr"])
        np.testing.assert_allclose(held_momentum, fields["max_momentum"], rtol=1e-12)


def test_one_cycle_lr_zero_length_first_phase_gives_max_lr() -> None:
    """pct_start * total_steps == 1: torch divides by zero; lrgen starts at max_lr."""
    node = ir.make_node("OneCycleLR", max_lr=0.1, total_steps=10, pct_start=0.1)
    with pytest.raises(ZeroDivisionError):
        torch_trace(
            lambda opt: tls.OneCycleLR(opt, max_lr=0.1, total_steps=10, pct_start=0.1), lr=0.5, n=1
        )
    values = evaluate(schedule(node, 0.5), np.arange(10))
    assert values[0] == 0.1
    # the second phase then anneals max_lr -> min_lr over steps 0..9 as usual
    min_lr = 4e-7  # 0.1 / 25 / 1e4
    assert values[1] == pytest.approx(
        min_lr + (0.1 - min_lr) / 2 * (math.cos(math.pi / 9) + 1), rel=1e-12
    )
    assert values[9] == pytest.approx(min_lr, rel=1e-12)


# --- LambdaLR, SequentialLR, ChainedScheduler -----------------------------------------------------

LAMBDAS = {
    "0.99 ** t": lambda t, w: 0.99**t,
    "1 / sqrt(1 + step)": lambda t, w: 1 / math.sqrt(1 + t),
    "min(1, (epoch + 1) / w)": lambda t, w: min(1, (t + 1) / w),
    "0.5 ** (t // w)": lambda t, w: 0.5 ** (t // w),
    "(t / w) if t < w else 0.5 * (1 + cos(pi * (t - w) / (600 - w)))": lambda t, w: (
        t / w if t < w else 0.5 * (1 + math.cos(math.pi * (t - w) / (600 - w)))
    ),
    "0.25": lambda t, w: 0.25,
}


@given(lr=lrs, text=st.sampled_from(sorted(LAMBDAS)), w=st.integers(1, 500))
def test_lambda_lr(lr: float, text: str, w: int) -> None:
    node = ir.make_node("LambdaLR", param_names=frozenset({"w"}), lr_lambda=text)
    s = schedule(node, lr, params={"w": 7})
    theirs, _ = torch_trace(lambda opt: tls.LambdaLR(opt, lambda t: LAMBDAS[text](t, w)), lr)
    assert_matches_torch(evaluate(s, np.arange(N), params={"w": w}), theirs, lr)


@given(
    lr=lrs,
    start=st.floats(0.01, 1.0),
    warmup=st.integers(1, 300),
    t_max=st.integers(1, 600),
    eta_ratio=st.floats(0.0, 0.5),
    milestone=st.integers(1, N + 50),
)
@example(lr=0.1, start=0.01, warmup=10, t_max=590, eta_ratio=0.0, milestone=10)
@example(lr=0.1, start=0.5, warmup=100, t_max=50, eta_ratio=0.0, milestone=20)  # cut mid-ramp
def test_sequential_linear_then_cosine(
    lr: float, start: float, warmup: int, t_max: int, eta_ratio: float, milestone: int
) -> None:
    eta_min = eta_ratio * lr
    node = ir.make_node(
        "SequentialLR",
        schedulers=[
            ir.make_node("LinearLR", start_factor=start, total_iters=warmup),
            ir.make_node("CosineAnnealingLR", T_max=t_max, eta_min=eta_min),
        ],
        milestones=[milestone],
    )

    def build(opt: torch.optim.Optimizer) -> tls.LRScheduler:
        first = tls.LinearLR(opt, start_factor=start, total_iters=warmup)
        second = tls.CosineAnnealingLR(opt, T_max=t_max, eta_min=eta_min)
        return tls.SequentialLR(opt, [first, second], milestones=[milestone])

    check(node, lr, build)


@given(
    lr=lrs,
    factor=st.floats(0.05, 1.0),
    total_iters=st.integers(1, 200),
    gamma=st.floats(0.97, 0.999),
    milestones=st.lists(st.integers(1, N), min_size=1, max_size=3, unique=True).map(sorted),
)
@example(lr=0.1, factor=0.5, total_iters=5, gamma=0.99, milestones=[5])
def test_sequential_constant_then_exponential(
    lr: float, factor: float, total_iters: int, gamma: float, milestones: list[int]
) -> None:
    # alternate ConstantLR and ExponentialLR children, one more child than milestones
    def nodes() -> list[ir.Node]:
        return [
            ir.make_node("ConstantLR", factor=factor, total_iters=total_iters)
            if i % 2 == 0
            else ir.make_node("ExponentialLR", gamma=gamma)
            for i in range(len(milestones) + 1)
        ]

    def build(opt: torch.optim.Optimizer) -> tls.LRScheduler:
        children = [
            tls.ConstantLR(opt, factor=factor, total_iters=total_iters)
            if i % 2 == 0
            else tls.ExponentialLR(opt, gamma=gamma)
            for i in range(len(milestones) + 1)
        ]
        return tls.SequentialLR(opt, children, milestones=milestones)

    check(ir.make_node("SequentialLR", schedulers=nodes(), milestones=milestones), lr, build)


@given(
    lr=lrs,
    factor=st.floats(0.05, 1.0),
    total_iters=st.integers(1, N + 50),
    gamma=st.floats(0.97, 0.999),
)
@example(lr=0.1, factor=0.5, total_iters=4, gamma=0.9)
def test_chained_constant_and_exponential(
    lr: float, factor: float, total_iters: int, gamma: float
) -> None:
    node = ir.make_node(
        "ChainedScheduler",
        schedulers=[
            ir.make_node("ConstantLR", factor=factor, total_iters=total_iters),
            ir.make_node("ExponentialLR", gamma=gamma),
        ],
    )

    def build(opt: torch.optim.Optimizer) -> tls.LRScheduler:
        return tls.ChainedScheduler(
            [
                tls.ConstantLR(opt, factor=factor, total_iters=total_iters),
                tls.ExponentialLR(opt, gamma=gamma),
            ]
        )

    check(node, lr, build)


# --- momentum() for schedules that do not cycle it ---------------------------------------------


def test_momentum_is_none_unless_cycled() -> None:
    steps = np.arange(5)
    off = ir.make_node("OneCycleLR", max_lr=0.1, total_steps=10, cycle_momentum=False)
    assert momentum(schedule(off, 0.1), steps) is None
    off = ir.make_node("CyclicLR", base_lr=0.01, max_lr=0.1, cycle_momentum=False)
    assert momentum(schedule(off, 0.1), steps) is None
    assert momentum(schedule(ir.make_node("StepLR", step_size=2), 0.1), steps) is None
    nested = ir.make_node(
        "SequentialLR",
        milestones=[3],
        schedulers=[
            ir.make_node("Constant"),
            ir.make_node("OneCycleLR", max_lr=0.1, total_steps=10),
        ],
    )
    assert momentum(schedule(nested, 0.1), steps) is None  # top-level nodes only
    on = ir.make_node("CyclicLR", base_lr=0.01, max_lr=0.1, step_size_up=2)
    m = momentum(schedule(on, 0.1), [[0, 1], [2, 4]])
    assert m is not None and m.shape == (2, 2)
    np.testing.assert_allclose(m, [[0.9, 0.85], [0.8, 0.9]], rtol=1e-15)
