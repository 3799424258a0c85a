"""The reference evaluator: what every schedule means, as small pure NumPy functions.

This module is the independent statement of the semantics in docs/spec.md and docs/kinds.md.
Each kind has one function below, written straight from its definition (the framework class it
mirrors, or the neutral formula), with the formula in its docstring, and is registered for its
kind by a small adapter marked ``@defines(kind)`` (:data:`DEFINITIONS`, which the evaluator
dispatches on; a kind's momentum, ``@defines_momentum``). It deliberately shares no
formula code with the code generator (:mod:`lrgen.lower`, :mod:`lrgen.printers`): the property
tests compare the two, and a shared formula would make a shared bug invisible.

Conventions shared by every function:

* ``t`` is a one-dimensional ``int64`` array of steps ``>= 0`` (the counter ``t`` of docs/spec.md);
  the result is a ``float64`` array of the same shape.
* Vectorised: no Python loop over steps (loops over milestones, children or a table of period
  starts are fine). The one exception is the metric-driven :func:`_reduce_lr_on_plateau`, a state
  machine over the metric sequence.
* Integer-exact: wherever the original floors or counts cycles, it is done on ``int64`` with
  ``//``, ``%`` or :func:`numpy.searchsorted` over integer boundaries, never with a floating-point
  logarithm, so restarts and milestones land on their exact step at any step count.
* Branches of a piecewise formula are computed on clipped arguments, so an unused branch never
  produces ``nan``/``inf`` that :func:`numpy.where` would then discard.

Where lrgen deliberately differs from the framework it mirrors (documented in the kinds
registry), the function's docstring says so under *lrgen difference*.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from lrgen import expr as ex
from lrgen import ir
from lrgen.kinds import KIND_MAP

__all__ = ["evaluate", "momentum"]

Array = npt.NDArray[np.float64]
Steps = npt.NDArray[np.int64]

_INT64_MAX = np.iinfo(np.int64).max


# --- public API -----------------------------------------------------------------------------------


def evaluate(
    schedule: ir.Schedule,
    steps: npt.ArrayLike,
    *,
    params: Mapping[str, float] | None = None,
    metrics: npt.ArrayLike | None = None,
) -> Array:
    """The learning rates of ``schedule`` at ``steps``, in float64 (docs/spec.md, "Python API").

    Args:
      schedule: the schedule (from :func:`lrgen.load` or built with :func:`lrgen.ir.make_node`).
      steps: array-like of integers ``>= 0`` (integral floats are accepted); any shape.
      params: values of the schedule's declared ``params``; defaults fill the rest.
      metrics: the metric sequence, required for a ``ReduceLROnPlateau`` schedule (whose
        ``lr(t)`` needs ``metrics[0 .. t-1]``), and rejected for any other schedule.

    Returns:
      A float64 array with the shape of ``steps``.

    Raises:
      ValueError: bad steps or metrics, or parameter values that break a field's constraints
        (:class:`lrgen.ir.BindError`, a ``ValueError``).
    """
    t, shape = _as_steps(steps)
    bound = ir.bind(schedule, params)
    with np.errstate(over="ignore", under="ignore"):
        if bound.kind == "ReduceLROnPlateau":
            lrs = _plateau(bound, t, metrics)
        elif metrics is not None:
            raise ValueError(
                f"metrics are only used by a metric-driven schedule (ReduceLROnPlateau); "
                f"{schedule.name!r} is {bound.kind}"
            )
        else:
            lrs = _lr(bound, t)
    return lrs.reshape(shape)


def momentum(
    schedule: ir.Schedule, steps: npt.ArrayLike, params: Mapping[str, float] | None = None
) -> Array | None:
    """The momentum (or Adam's beta1) that a momentum-cycling schedule sets at ``steps``.

    Only a top-level ``CyclicLR`` or ``OneCycleLR`` with ``cycle_momentum: true`` cycles the
    momentum; for any other schedule this returns ``None``. Momentum moves inversely to the
    learning rate: see :func:`cyclic_momentum` and :func:`one_cycle_momentum`.
    """
    t, shape = _as_steps(steps)
    b = ir.bind(schedule, params)
    if not KIND_MAP[b.kind].cycles_momentum or not b["cycle_momentum"]:
        return None
    return MOMENTUM_DEFINITIONS[b.kind](b, t).reshape(shape)


# --- steps --------------------------------------------------------------------------------------


def _as_steps(steps: npt.ArrayLike) -> tuple[Steps, tuple[int, ...]]:
    """``steps`` as a flat int64 array, and its shape; ValueError unless integers ``>= 0``."""
    arr = np.asarray(steps)
    kind = arr.dtype.kind
    if kind == "b":
        raise ValueError("steps must be integers >= 0, got booleans")
    if kind == "O":  # Python ints too large for int64, or mixed objects
        items = arr.ravel().tolist()
        if not all(isinstance(x, int | np.integer) and not isinstance(x, bool) for x in items):
            raise ValueError("steps must be integers >= 0")
        if any(x > _INT64_MAX for x in items):
            raise ValueError(f"steps must be at most {_INT64_MAX} (int64)")
        if any(x < 0 for x in items):
            raise ValueError(f"steps must be >= 0, got {min(items)!r}")
        arr = arr.astype(np.int64)
    elif kind == "f":
        if not np.all(np.isfinite(arr)):
            raise ValueError("steps must be finite integers >= 0, got nan or inf")
        if np.any(arr != np.floor(arr)):
            bad = arr[arr != np.floor(arr)].ravel()[0].item()
            raise ValueError(f"steps must be integers, got {bad!r}")
        if np.any(arr >= 2.0**63):
            raise ValueError(f"steps must be at most {_INT64_MAX} (int64)")
    elif kind == "u":
        if arr.size and int(arr.max()) > _INT64_MAX:
            raise ValueError(f"steps must be at most {_INT64_MAX} (int64)")
    elif kind != "i":
        raise ValueError(f"steps must be integers >= 0, got an array of dtype {arr.dtype}")
    if arr.size and arr.min() < 0:  # a reduction: no temporary mask of the size of steps
        raise ValueError(f"steps must be >= 0, got {arr[arr < 0].ravel()[0].item()!r}")
    # No copy of int64 steps: no function below writes into ``t``.
    return arr.astype(np.int64, copy=False).ravel(), arr.shape


def _t_max(t: Steps) -> int:
    return int(t.max()) if t.size else 0


# --- dispatch -----------------------------------------------------------------------------------


#: A kind's definition: a bound node and the steps -> the rates, from the kind's function below.
Definition = Callable[[ir.Bound, Steps], Array]
#: kind -> its definition; every kind of the registry has one (tests/test_registry.py).
DEFINITIONS: dict[str, Definition] = {}


def defines(kind: str) -> Callable[[Definition], Definition]:
    """Register the decorated function as the definition of ``kind``."""

    def register(fn: Definition) -> Definition:
        if kind in DEFINITIONS:
            raise ValueError(f"kind {kind!r} is defined twice")
        DEFINITIONS[kind] = fn
        return fn

    return register


#: kind -> the momentum it sets, for each kind whose registry entry ``cycles_momentum``.
MOMENTUM_DEFINITIONS: dict[str, Definition] = {}


def defines_momentum(kind: str) -> Callable[[Definition], Definition]:
    """Register the decorated function as the momentum of ``kind``."""

    def register(fn: Definition) -> Definition:
        MOMENTUM_DEFINITIONS[kind] = fn
        return fn

    return register


def _lr(b: ir.Bound, t: Steps) -> Array:
    """Dispatch one bound node to its kind's definition."""
    definition = DEFINITIONS.get(b.kind)
    if definition is None:
        raise ValueError(f"{b.path}: the reference evaluator has no definition of kind {b.kind!r}")
    return definition(b, t)


# torch-mirrored


@defines("StepLR")
def _step_lr(b: ir.Bound, t: Steps) -> Array:
    return step_lr(t, float(b.lr), b["step_size"], float(b["gamma"]))


@defines("MultiStepLR")
def _multi_step_lr(b: ir.Bound, t: Steps) -> Array:
    return multi_step_lr(t, float(b.lr), b["milestones"], float(b["gamma"]))


@defines("ConstantLR")
def _constant_lr(b: ir.Bound, t: Steps) -> Array:
    return constant_lr(t, float(b.lr), float(b["factor"]), b["total_iters"])


@defines("LinearLR")
def _linear_lr(b: ir.Bound, t: Steps) -> Array:
    return linear_lr(
        t, float(b.lr), float(b["start_factor"]), float(b["end_factor"]), b["total_iters"]
    )


@defines("ExponentialLR")
def _exponential_lr(b: ir.Bound, t: Steps) -> Array:
    return exponential_lr(t, float(b.lr), float(b["gamma"]))


@defines("PolynomialLR")
def _polynomial_lr(b: ir.Bound, t: Steps) -> Array:
    return polynomial_lr(t, float(b.lr), b["total_iters"], float(b["power"]))


@defines("CosineAnnealingLR")
def _cosine_annealing_lr(b: ir.Bound, t: Steps) -> Array:
    return cosine_annealing_lr(t, float(b.lr), b["T_max"], float(b["eta_min"]))


@defines("CosineAnnealingWarmRestarts")
def _cosine_annealing_warm_restarts(b: ir.Bound, t: Steps) -> Array:
    return cosine_annealing_warm_restarts(
        t, float(b.lr), b["T_0"], b["T_mult"], float(b["eta_min"])
    )


@defines("CyclicLR")
def _cyclic_lr(b: ir.Bound, t: Steps) -> Array:
    return cyclic_lr(t, **_cyclic_args(b), base_lr=float(b["base_lr"]), max_lr=float(b["max_lr"]))


@defines_momentum("CyclicLR")
def _cyclic_momentum(b: ir.Bound, t: Steps) -> Array:
    return cyclic_momentum(
        t,
        **_cyclic_args(b),
        base_momentum=float(b["base_momentum"]),
        max_momentum=float(b["max_momentum"]),
    )


@defines("OneCycleLR")
def _one_cycle_lr(b: ir.Bound, t: Steps) -> Array:
    return one_cycle_lr(
        t,
        **_one_cycle_args(b),
        max_lr=float(b["max_lr"]),
        div_factor=float(b["div_factor"]),
        final_div_factor=float(b["final_div_factor"]),
    )


@defines_momentum("OneCycleLR")
def _one_cycle_momentum(b: ir.Bound, t: Steps) -> Array:
    return one_cycle_momentum(
        t,
        **_one_cycle_args(b),
        base_momentum=float(b["base_momentum"]),
        max_momentum=float(b["max_momentum"]),
    )


@defines("LambdaLR")
def _lambda_lr(b: ir.Bound, t: Steps) -> Array:
    return lambda_lr(t, float(b.lr), b["lr_lambda"], b.env)


@defines("SequentialLR")
def _sequential_lr(b: ir.Bound, t: Steps) -> Array:
    return sequential_lr(t, b["milestones"], [_child(c) for c in b.children])


@defines("ChainedScheduler")
def _chained_scheduler(b: ir.Bound, t: Steps) -> Array:
    return chained_scheduler(t, float(b.lr), [_child(c) for c in b.children])


@defines("ReduceLROnPlateau")
def _nested_plateau(b: ir.Bound, t: Steps) -> Array:
    """Only a top-level node (which :func:`evaluate` hands to :func:`_plateau`) has a metric."""
    raise ValueError(
        f"{b.path}: ReduceLROnPlateau is metric-driven and only allowed as "
        "the top-level node of a schedule"
    )


# Keras-mirrored


@defines("ExponentialDecay")
def _exponential_decay(b: ir.Bound, t: Steps) -> Array:
    return exponential_decay(
        t,
        float(b["initial_learning_rate"]),
        b["decay_steps"],
        float(b["decay_rate"]),
        bool(b["staircase"]),
    )


@defines("PiecewiseConstantDecay")
def _piecewise_constant_decay(b: ir.Bound, t: Steps) -> Array:
    return piecewise_constant_decay(t, b["boundaries"], b["values"])


@defines("PolynomialDecay")
def _polynomial_decay(b: ir.Bound, t: Steps) -> Array:
    return polynomial_decay(
        t,
        float(b["initial_learning_rate"]),
        b["decay_steps"],
        float(b["end_learning_rate"]),
        float(b["power"]),
        bool(b["cycle"]),
    )


@defines("InverseTimeDecay")
def _inverse_time_decay(b: ir.Bound, t: Steps) -> Array:
    return inverse_time_decay(
        t,
        float(b["initial_learning_rate"]),
        b["decay_steps"],
        float(b["decay_rate"]),
        bool(b["staircase"]),
    )


@defines("CosineDecay")
def _cosine_decay(b: ir.Bound, t: Steps) -> Array:
    target = b["warmup_target"]
    return cosine_decay(
        t,
        float(b["initial_learning_rate"]),
        b["decay_steps"],
        float(b["alpha"]),
        None if target is None else float(target),
        b["warmup_steps"],
    )


@defines("CosineDecayRestarts")
def _cosine_decay_restarts(b: ir.Bound, t: Steps) -> Array:
    return cosine_decay_restarts(
        t,
        float(b["initial_learning_rate"]),
        b["first_decay_steps"],
        float(b["t_mul"]),
        float(b["m_mul"]),
        float(b["alpha"]),
    )


# framework-neutral


@defines("Constant")
def _constant(b: ir.Bound, t: Steps) -> Array:
    return constant(t, float(b.lr))


@defines("LinearWarmup")
def _linear_warmup(b: ir.Bound, t: Steps) -> Array:
    return linear_warmup(t, float(b.lr), b["warmup_steps"])


@defines("ExponentialWarmup")
def _exponential_warmup(b: ir.Bound, t: Steps) -> Array:
    return exponential_warmup(t, float(b.lr), b["warmup_steps"], float(b["start_lr"]))


@defines("CosineWarmup")
def _cosine_warmup(b: ir.Bound, t: Steps) -> Array:
    return cosine_warmup(t, float(b.lr), b["warmup_steps"])


@defines("WarmupWithDecay")
def _warmup_with_decay(b: ir.Bound, t: Steps) -> Array:
    return warmup_with_decay(
        t, float(b.lr), b["warmup_steps"], b["total_steps"], float(b["min_lr"])
    )


@defines("InverseSqrt")
def _inverse_sqrt(b: ir.Bound, t: Steps) -> Array:
    return inverse_sqrt(t, float(b.lr), b["warmup_steps"], float(b["timescale"]))


@defines("WarmupStableDecay")
def _warmup_stable_decay(b: ir.Bound, t: Steps) -> Array:
    return warmup_stable_decay(
        t,
        float(b.lr),
        b["warmup_steps"],
        b["stable_steps"],
        b["decay_steps"],
        float(b["min_lr_ratio"]),
        b["warmup_type"],
        b["decay_type"],
    )


@defines("TransformersSchedule")
def _transformers_schedule(b: ir.Bound, t: Steps) -> Array:
    return transformers_schedule(t, float(b.lr), b["lr_scheduler_type"], b.values)


def _child(b: ir.Bound) -> Callable[[Steps], Array]:
    return lambda t: _lr(b, t)


def _cyclic_args(b: ir.Bound) -> dict[str, Any]:
    return {
        "step_size_up": b["step_size_up"],
        "step_size_down": b["step_size_down"],
        "mode": b["mode"],
        "gamma": float(b["gamma"]),
        "scale_fn": b["scale_fn"],
        "scale_mode": b["scale_mode"],
        "env": b.env,
    }


def _one_cycle_args(b: ir.Bound) -> dict[str, Any]:
    return {
        "total_steps": ir.one_cycle_total_steps(b),
        "pct_start": float(b["pct_start"]),
        "anneal_strategy": b["anneal_strategy"],
        "three_phase": bool(b["three_phase"]),
    }


# --- torch-mirrored -----------------------------------------------------------------------------


def step_lr(t: Steps, lr: float, step_size: int, gamma: float) -> Array:
    r"""``StepLR``: decay by ``gamma`` every ``step_size`` ticks.

    .. math::
      \eta_t = \eta \cdot \gamma^{\lfloor t / s \rfloor}

    The exponent is an integer floor division.
    """
    return lr * np.power(gamma, t // step_size, dtype=np.float64)


def multi_step_lr(t: Steps, lr: float, milestones: Sequence[int], gamma: float) -> Array:
    r"""``MultiStepLR``: decay by ``gamma`` at each milestone.

    .. math::
      \eta_t = \eta \cdot \gamma^{\#\{i : m_i \le t\}}

    The count is a binary search over the (strictly increasing, integer) milestones.
    """
    passed = np.searchsorted(np.asarray(milestones, dtype=np.int64), t, side="right")
    return lr * np.power(gamma, passed, dtype=np.float64)


def constant_lr(t: Steps, lr: float, factor: float, total_iters: int) -> Array:
    r"""``ConstantLR``: scale by ``factor`` until ``total_iters``.

    .. math::
      \eta_t = \begin{cases} \eta \cdot f & t < T \\ \eta & t \ge T \end{cases}
    """
    return np.where(t < total_iters, lr * factor, lr)


def linear_lr(
    t: Steps, lr: float, start_factor: float, end_factor: float, total_iters: int
) -> Array:
    r"""``LinearLR``: scale linearly from ``start_factor`` to ``end_factor``, then hold.

    .. math::
      \eta_t = \eta \left(f_0 + (f_1 - f_0) \frac{\min(t, T)}{T}\right)
    """
    return lr * (
        start_factor + (end_factor - start_factor) * np.minimum(t, total_iters) / total_iters
    )


def exponential_lr(t: Steps, lr: float, gamma: float) -> Array:
    r"""``ExponentialLR``: decay by ``gamma`` every tick.

    .. math::
      \eta_t = \eta \cdot \gamma^t
    """
    return lr * np.power(gamma, t, dtype=np.float64)


def polynomial_lr(t: Steps, lr: float, total_iters: int, power: float) -> Array:
    r"""``PolynomialLR``: polynomial decay to 0 over ``total_iters``, then 0.

    .. math::
      \eta_t = \eta \left(1 - \frac{\min(t, T)}{T}\right)^p
    """
    return lr * (1.0 - np.minimum(t, total_iters) / total_iters) ** power


def cosine_annealing_lr(t: Steps, lr: float, T_max: int, eta_min: float) -> Array:
    r"""``CosineAnnealingLR``: torch's closed form, periodic past ``T_max``.

    .. math::
      \eta_t = \eta_{min} + (\eta - \eta_{min}) \frac{1 + \cos(\pi t / T_{max})}{2}

    Past ``T_max`` the cosine rises again with period ``2 T_max``, exactly as torch's closed
    form (and, up to roundoff, its recurrent form) does. ``t`` is reduced modulo the period in
    integers first: ``pi * t`` itself would lose the phase at very large steps.
    """
    # The formula's operations in its order, in place: one array instead of one per operation.
    if t.size and int(t.max()) >= 2 * T_max:  # only then: no extra array in the common case
        t = t % (2 * T_max)
    x = (np.pi * t).astype(np.float64, copy=False)
    x /= T_max
    np.cos(x, out=x)
    x += 1
    x *= lr - eta_min
    x /= 2
    x += eta_min
    return x


def cosine_annealing_warm_restarts(
    t: Steps, lr: float, T_0: int, T_mult: int, eta_min: float
) -> Array:
    r"""``CosineAnnealingWarmRestarts`` (SGDR): cosine annealing restarted every cycle.

    Cycle :math:`n` lasts :math:`T_n = T_0 M^n` ticks and starts at
    :math:`S_n = T_0 (M^n - 1) / (M - 1)` (:math:`S_n = n T_0` when :math:`M = 1`). With
    :math:`n` the last cycle with :math:`S_n \le t` and :math:`T_{cur} = t - S_n`:

    .. math::
      \eta_t = \eta_{min} + (\eta - \eta_{min}) \frac{1 + \cos(\pi T_{cur} / T_n)}{2}

    *lrgen difference*: the cycle is found with integers (``t % T_0``, or a binary search over
    the exact integer starts :math:`S_n`), never with torch's ``math.log`` of ``step(epoch)``,
    so each restart lands exactly on its step at any step count. Stepping torch's scheduler one
    tick at a time gives the same values.
    """
    if T_mult == 1:
        t_cur = t % T_0
        t_i: npt.NDArray[np.float64] | float = float(T_0)
    else:
        starts, lengths = _integer_periods(T_0, T_mult, _t_max(t))
        n = np.searchsorted(starts, t, side="right") - 1
        t_cur = t - starts[n]
        t_i = lengths[n]
    return eta_min + (lr - eta_min) * (1 + np.cos(np.pi * t_cur / t_i)) / 2


def _integer_periods(first: int, mult: int, t_max: int) -> tuple[Steps, Array]:
    """Starts (int64, exact) and lengths (float64) of the geometric periods starting <= t_max.

    Period ``n`` lasts ``first * mult**n``; computed with Python integers, so exact at any size.
    """
    starts, lengths = [], []
    start, length = 0, first
    while start <= t_max:
        starts.append(start)
        # a period longer than the largest float (t_mul near it): t_cur / inf is its 0
        lengths.append(float(length) if length.bit_length() <= 1023 else math.inf)
        start, length = start + length, length * mult
    return np.asarray(starts, dtype=np.int64), np.asarray(lengths, dtype=np.float64)


def _cyclic_triangle(
    t: Steps, step_size_up: int, step_size_down: int | None
) -> tuple[Steps, Array]:
    """CyclicLR's cycle number (1-based, int64) and triangle ``scale_factor`` in [0, 1]."""
    up = step_size_up
    down = up if step_size_down is None else step_size_down
    total = up + down
    cycle = t // total + 1
    pos = t % total
    rising = pos <= up
    scale_factor = np.where(rising, pos / up, (total - pos) / down)
    return cycle, scale_factor


def _cyclic_amplitude(
    t: Steps,
    cycle: Steps,
    mode: str,
    gamma: float,
    scale_fn: ex.Expr | None,
    scale_mode: str | None,
    env: Mapping[str, float],
) -> Array:
    """CyclicLR's amplitude scale: ``scale_fn(x)`` if given, else the ``mode``'s policy."""
    if scale_fn is not None:
        x = t if scale_mode == "iterations" else cycle
        value = ex.evaluate(scale_fn, {**env, "x": x.astype(np.float64)})
        return np.broadcast_to(value, t.shape).astype(np.float64)
    if mode == "triangular":
        return np.ones(t.shape)
    if mode == "triangular2":
        return 1 / np.power(2.0, cycle - 1, dtype=np.float64)
    return np.power(gamma, t, dtype=np.float64)  # exp_range: scale_mode is "iterations"


def cyclic_lr(
    t: Steps,
    *,
    base_lr: float,
    max_lr: float,
    step_size_up: int,
    step_size_down: int | None,
    mode: str,
    gamma: float,
    scale_fn: ex.Expr | None,
    scale_mode: str | None,
    env: Mapping[str, float],
) -> Array:
    r"""``CyclicLR``: triangular cycles between ``base_lr`` and ``max_lr`` (absolute values).

    With :math:`u` = ``step_size_up``, :math:`d` = ``step_size_down`` (default :math:`u`),
    :math:`L = u + d`, the cycle :math:`c = \lfloor t / L \rfloor + 1` and the position
    :math:`p = t \bmod L` (both integer):

    .. math::
      s_t = \begin{cases} p / u & p \le u \\ (L - p) / d & p > u \end{cases} \qquad
      \eta_t = \eta_{base} + (\eta_{max} - \eta_{base})\, s_t\, \sigma_t

    The amplitude scale :math:`\sigma_t` is ``scale_fn(x)`` when given, with :math:`x = c`
    (``scale_mode`` ``cycle`` or null) or :math:`x = t` (``iterations``); otherwise ``mode``
    decides: ``triangular`` :math:`1`, ``triangular2`` :math:`2^{-(c-1)}`, ``exp_range``
    :math:`\gamma^t`. The learning rate does not depend on the schedule's ``lr`` (torch
    overwrites the optimizer's lr with ``base_lr``).
    """
    cycle, scale_factor = _cyclic_triangle(t, step_size_up, step_size_down)
    amplitude = _cyclic_amplitude(t, cycle, mode, gamma, scale_fn, scale_mode, env)
    return base_lr + (max_lr - base_lr) * scale_factor * amplitude


def cyclic_momentum(
    t: Steps,
    *,
    base_momentum: float,
    max_momentum: float,
    step_size_up: int,
    step_size_down: int | None,
    mode: str,
    gamma: float,
    scale_fn: ex.Expr | None,
    scale_mode: str | None,
    env: Mapping[str, float],
) -> Array:
    r"""``CyclicLR`` momentum, inverse to its learning rate (same :math:`s_t`, :math:`\sigma_t`).

    .. math::
      m_t = m_{max} - (m_{max} - m_{base})\, s_t\, \sigma_t
    """
    cycle, scale_factor = _cyclic_triangle(t, step_size_up, step_size_down)
    amplitude = _cyclic_amplitude(t, cycle, mode, gamma, scale_fn, scale_mode, env)
    return max_momentum - (max_momentum - base_momentum) * scale_factor * amplitude


def _one_cycle_ends(total_steps: int, pct_start: float, three_phase: bool) -> list[float]:
    """The phase ends of OneCycleLR, computed exactly as torch computes them (float64)."""
    if three_phase:
        return [
            float(pct_start * total_steps) - 1,
            float(2 * pct_start * total_steps) - 2,
            float(total_steps - 1),
        ]
    return [float(pct_start * total_steps) - 1, float(total_steps - 1)]


def _one_cycle_anneal(
    t: Steps, ends: Sequence[float], values: Sequence[float], anneal_strategy: str
) -> Array:
    """Anneal from ``values[i]`` to ``values[i+1]`` over phase ``i`` (ending at ``ends[i]``).

    A step belongs to the first phase whose end it does not pass, or to the last phase. Steps
    past the last end hold the value at the last end; a phase of length zero gives its end value.
    """
    s = np.minimum(t, ends[-1]).astype(np.float64)  # the last end is total_steps - 1, an integer
    out = np.empty(t.shape)
    todo = np.ones(t.shape, dtype=bool)
    start = 0.0
    for i, end in enumerate(ends):
        mine = todo if i == len(ends) - 1 else todo & (s <= end)
        span = end - start
        pct = (s[mine] - start) / span if span != 0 else np.ones(int(mine.sum()))
        first_v, end_v = values[i], values[i + 1]
        if anneal_strategy == "cos":
            out[mine] = end_v + (first_v - end_v) / 2.0 * (np.cos(np.pi * pct) + 1)
        else:
            out[mine] = (end_v - first_v) * pct + first_v
        todo &= ~mine
        start = end
    return out


def one_cycle_lr(
    t: Steps,
    *,
    max_lr: float,
    total_steps: int,
    pct_start: float,
    anneal_strategy: str,
    three_phase: bool,
    div_factor: float,
    final_div_factor: float,
) -> Array:
    r"""``OneCycleLR``: warm up to ``max_lr``, then anneal to a tiny ``min_lr`` (absolute values).

    :math:`\eta_{init} = \eta_{max} / \text{div\_factor}`,
    :math:`\eta_{min} = \eta_{init} / \text{final\_div\_factor}`, :math:`N` = ``total_steps``.
    Phase ends, in float64 exactly as torch computes them:

    * two-phase: :math:`e_1 = p N - 1`, :math:`e_2 = N - 1`; the rate goes
      :math:`\eta_{init} \to \eta_{max} \to \eta_{min}`;
    * three-phase: :math:`e_1 = p N - 1`, :math:`e_2 = 2 p N - 2`, :math:`e_3 = N - 1`;
      :math:`\eta_{init} \to \eta_{max} \to \eta_{init} \to \eta_{min}`.

    Step :math:`t` is in the first phase :math:`k` with :math:`t \le e_k` (else the last), with
    :math:`\pi_t = (t - e_{k-1}) / (e_k - e_{k-1})` (:math:`e_0 = 0`) and, from value :math:`a`
    to :math:`b`:

    .. math::
      \text{cos: } b + \frac{a - b}{2} (\cos(\pi \pi_t) + 1) \qquad
      \text{linear: } (b - a) \pi_t + a

    *lrgen differences*: the rate holds its value at step :math:`N - 1` from then on,
    :math:`\eta_t = \eta_{\min(t, N - 1)}` (torch extrapolates at :math:`t = N` and raises
    beyond). That value is :math:`\eta_{min}` (the last phase ends with :math:`\pi = 1`) except
    for a three-phase cycle with :math:`2 p N - 2 \ge N - 1` (``pct_start`` above about 0.5),
    whose second phase does not end before :math:`N - 1`, so that torch never reaches its third
    phase; lrgen holds torch's value at :math:`N - 1` there too. A phase of length zero (e.g.
    :math:`p N = 1`, where torch divides by zero) gives its end value.
    """
    initial = max_lr / div_factor
    min_lr = initial / final_div_factor
    values = (initial, max_lr, initial, min_lr) if three_phase else (initial, max_lr, min_lr)
    return _one_cycle_anneal(
        t, _one_cycle_ends(total_steps, pct_start, three_phase), values, anneal_strategy
    )


def one_cycle_momentum(
    t: Steps,
    *,
    base_momentum: float,
    max_momentum: float,
    total_steps: int,
    pct_start: float,
    anneal_strategy: str,
    three_phase: bool,
) -> Array:
    r"""``OneCycleLR`` momentum: inverse to the rate, over the same phases and anneal.

    Two-phase :math:`m_{max} \to m_{base} \to m_{max}`; three-phase
    :math:`m_{max} \to m_{base} \to m_{max} \to m_{max}`.
    """
    values = (
        (max_momentum, base_momentum, max_momentum, max_momentum)
        if three_phase
        else (max_momentum, base_momentum, max_momentum)
    )
    return _one_cycle_anneal(
        t, _one_cycle_ends(total_steps, pct_start, three_phase), values, anneal_strategy
    )


def lambda_lr(t: Steps, lr: float, lr_lambda: ex.Expr, env: Mapping[str, float]) -> Array:
    r"""``LambdaLR``: ``lr`` times an expression of the counter.

    .. math::
      \eta_t = \eta \cdot \lambda(t)

    The expression sees the params, ``lr`` and the counter as ``t``, ``step`` and ``epoch``.
    """
    tf = t.astype(np.float64)
    value = ex.evaluate(lr_lambda, {**env, "t": tf, "step": tf, "epoch": tf})
    return lr * np.broadcast_to(value, t.shape).astype(np.float64)


def sequential_lr(
    t: Steps, milestones: Sequence[int], children: Sequence[Callable[[Steps], Array]]
) -> Array:
    r"""``SequentialLR``: child :math:`i` runs on its own clock between milestones.

    .. math::
      \eta_t = \text{child}_i(t - m_i) \quad \text{for } m_i \le t < m_{i+1}, \; m_0 = 0

    Each child is evaluated only on its own steps. Sorted steps (``np.arange``, the usual
    case) are cut into one slice per child; others are split with a mask per child.
    """
    bounds = np.asarray(milestones, dtype=np.int64)
    offsets = [0, *(int(m) for m in milestones)]
    out = np.empty(t.shape)
    if t.size < 2 or bool(np.all(t[1:] >= t[:-1])):
        cuts = [0, *np.searchsorted(t, bounds, side="left").tolist(), t.size]
        for i, child in enumerate(children):
            mine = slice(cuts[i], cuts[i + 1])
            if cuts[i] < cuts[i + 1]:
                out[mine] = child(t[mine] - offsets[i] if offsets[i] else t[mine])
        return out
    which = np.searchsorted(bounds, t, side="right")
    for i, child in enumerate(children):
        mine = which == i
        if mine.any():
            out[mine] = child(t[mine] - offsets[i])
    return out


def chained_scheduler(t: Steps, lr: float, children: Sequence[Callable[[Steps], Array]]) -> Array:
    r"""``ChainedScheduler``: the product of the children's multipliers.

    .. math::
      \eta_t = \eta \prod_i \frac{\text{child}_i(t)}{\eta}
    """
    out = np.full(t.shape, lr)
    for child in children:
        out = out * (child(t) / lr)
    return out


def _plateau(b: ir.Bound, t: Steps, metrics: npt.ArrayLike | None) -> Array:
    if metrics is None:
        raise ValueError("ReduceLROnPlateau is metric-driven: evaluate() needs metrics=")
    try:
        values = np.asarray(metrics, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("metrics must be a one-dimensional sequence of numbers") from None
    if values.ndim != 1:
        raise ValueError(f"metrics must be one-dimensional, got shape {values.shape}")
    needed = _t_max(t)
    if len(values) < needed:
        raise ValueError(
            f"lr({needed}) needs {needed} metrics (one per step() before it), got {len(values)}"
        )
    v = b.values
    warmup_steps = int(v["warmup_steps"])
    if warmup_steps > 0:
        return _warmup_then_plateau(b, t, values[:needed], warmup_steps)
    return _reduce_lr_on_plateau(
        t,
        float(b.lr),
        values[:needed],
        mode=v["mode"],
        factor=float(v["factor"]),
        patience=v["patience"],
        threshold=float(v["threshold"]),
        threshold_mode=v["threshold_mode"],
        cooldown=v["cooldown"],
        min_lr=float(v["min_lr"]),
        eps=float(v["eps"]),
    )


def plateau_warmup_lr(lr: float, start_factor: float, warmup_steps: int, t: int) -> float:
    r"""The rate at tick ``t <= warmup_steps`` of a ``ReduceLROnPlateau`` warmup:
    :math:`\eta (f + (1 - f) t / W)`, torch's ``LinearLR(start_factor=f, total_iters=W)`` in
    closed form; ``t = W`` gives :math:`\eta` exactly. The generated scheduler and callback
    compute it with the same float operations."""
    return lr * (start_factor + (1.0 - start_factor) * t / warmup_steps)


def _warmup_then_plateau(
    b: ir.Bound, t: Steps, metrics: npt.NDArray[np.float64], warmup_steps: int
) -> Array:
    """``lr(t)`` for ``t <= W`` is the warmup's; the metrics of the warmup ticks
    (``metrics[0 .. W-1]``) are ignored; from ``lr(W)`` (the spec's ``lr``) on it is torch's
    state machine fed ``metrics[W], metrics[W+1], ...``."""
    v = b.values
    lr = float(b.lr)
    start = float(v["warmup_start_factor"])
    n = len(metrics)
    warm = [plateau_warmup_lr(lr, start, warmup_steps, k) for k in range(min(n, warmup_steps) + 1)]
    rest = metrics[warmup_steps:]
    plateau = _reduce_lr_on_plateau(
        np.arange(len(rest) + 1),
        warm[-1],
        rest,
        mode=v["mode"],
        factor=float(v["factor"]),
        patience=v["patience"],
        threshold=float(v["threshold"]),
        threshold_mode=v["threshold_mode"],
        cooldown=v["cooldown"],
        min_lr=float(v["min_lr"]),
        eps=float(v["eps"]),
    )
    trace = np.concatenate([np.asarray(warm[:-1], dtype=np.float64), plateau])
    return trace[t]


#: torch's ``_is_better(a, best)`` per (mode, threshold_mode), with the same float operations.
_PLATEAU_IS_BETTER: Mapping[tuple[str, str], Callable[[float, float, float], bool]] = {
    ("min", "rel"): lambda a, best, threshold: a < best * (1.0 - threshold),
    ("min", "abs"): lambda a, best, threshold: a < best - threshold,
    ("max", "rel"): lambda a, best, threshold: a > best * (threshold + 1.0),
    ("max", "abs"): lambda a, best, threshold: a > best + threshold,
}


def _reduce_lr_on_plateau(
    t: Steps,
    lr: float,
    metrics: npt.NDArray[np.float64],
    *,
    mode: str,
    factor: float,
    patience: int,
    threshold: float,
    threshold_mode: str,
    cooldown: int,
    min_lr: float,
    eps: float,
) -> Array:
    r"""``ReduceLROnPlateau``: :math:`\eta_t` is the rate after ``t`` calls of torch's
    ``step(metrics[0])``, ..., ``step(metrics[t-1])``.

    The state machine, exactly torch's: ``best`` starts at :math:`+\infty` (min) or
    :math:`-\infty` (max); a metric :math:`a` is better when

    * min/rel: :math:`a < best (1 - \theta)`, min/abs: :math:`a < best - \theta`,
    * max/rel: :math:`a > best (1 + \theta)`, max/abs: :math:`a > best + \theta`.

    If better, ``best = a`` and ``bad = 0``, else ``bad += 1``; during a cooldown
    (``cooldown_counter > 0``) the counter is decremented and ``bad = 0``; when
    ``bad > patience``, :math:`\eta' = \max(\eta f, \eta_{min})` replaces :math:`\eta` if
    :math:`\eta - \eta' > \epsilon`, and (reduced or not) ``cooldown_counter = cooldown``,
    ``bad = 0``.

    A NaN metric compares false, so it is never better: it counts as a bad epoch (torch's
    behaviour). The loop runs over the metrics, in Python floats like torch's.
    """
    is_better = _PLATEAU_IS_BETTER[mode, threshold_mode]
    best = math.inf if mode == "min" else -math.inf
    trace = [lr]
    bad = cooldown_counter = 0
    for a in metrics.tolist():
        if is_better(a, best, threshold):
            best, bad = a, 0
        else:
            bad += 1
        if cooldown_counter > 0:
            cooldown_counter -= 1
            bad = 0
        if bad > patience:
            new_lr = max(lr * factor, min_lr)
            if lr - new_lr > eps:
                lr = new_lr
            cooldown_counter, bad = cooldown, 0
        trace.append(lr)
    return np.asarray(trace, dtype=np.float64)[t]


# --- Keras-mirrored (the formula, in float64) ---------------------------------------------------


def exponential_decay(
    t: Steps, initial_learning_rate: float, decay_steps: int, decay_rate: float, staircase: bool
) -> Array:
    r"""``ExponentialDecay``.

    .. math::
      \eta_t = \eta_0 \cdot r^{t / D} \quad (\text{staircase: } r^{\lfloor t / D \rfloor})

    The staircase exponent is an integer floor division.
    """
    p = (t // decay_steps).astype(np.float64) if staircase else t / decay_steps
    return initial_learning_rate * np.power(decay_rate, p)


def piecewise_constant_decay(t: Steps, boundaries: Sequence[int], values: Sequence[float]) -> Array:
    r"""``PiecewiseConstantDecay``: absolute values between boundaries (Keras's rule).

    .. math::
      \eta_t = v_i \quad \text{for } b_{i-1} < t \le b_i \quad (b_{-1} = -\infty,\ b_n = \infty)

    so ``values[0]`` holds while :math:`t \le b_0`. :math:`i` is the number of boundaries
    strictly below :math:`t` (a binary search over the integer boundaries).
    """
    index = np.searchsorted(np.asarray(boundaries, dtype=np.int64), t, side="left")
    return np.asarray(values, dtype=np.float64)[index]


def polynomial_decay(
    t: Steps,
    initial_learning_rate: float,
    decay_steps: int,
    end_learning_rate: float,
    power: float,
    cycle: bool,
) -> Array:
    r"""``PolynomialDecay``: polynomial decay to ``end_learning_rate``, optionally cycling.

    .. math::
      \eta_t = (\eta_0 - \eta_{end}) (1 - p)^k + \eta_{end}

    Without ``cycle``: :math:`p = \min(t, D) / D`. With ``cycle``: :math:`p = t / D'` where
    :math:`D' = D \max(1, \lceil t / D \rceil)` (so :math:`t = 0` uses :math:`D`); the ceiling is
    an integer ceiling division.
    """
    if cycle:
        multiplier = np.maximum(1, -(-t // decay_steps))
        p = t / (decay_steps * multiplier)
    else:
        p = np.minimum(t, decay_steps) / decay_steps
    return (initial_learning_rate - end_learning_rate) * (1 - p) ** power + end_learning_rate


def inverse_time_decay(
    t: Steps, initial_learning_rate: float, decay_steps: int, decay_rate: float, staircase: bool
) -> Array:
    r"""``InverseTimeDecay``.

    .. math::
      \eta_t = \frac{\eta_0}{1 + r\, t / D} \quad
      (\text{staircase: } \frac{\eta_0}{1 + r \lfloor t / D \rfloor})
    """
    p = (t // decay_steps).astype(np.float64) if staircase else t / decay_steps
    return initial_learning_rate / (1 + decay_rate * p)


def _cosine_decayed(s: Array | Steps, decay_steps: int, alpha: float) -> Array:
    """Keras's decay factor ``(1 - alpha) * (1 + cos(pi * s / D)) / 2 + alpha``."""
    return (1 - alpha) * (0.5 * (1.0 + np.cos(np.pi * (s / decay_steps)))) + alpha


def cosine_decay(
    t: Steps,
    initial_learning_rate: float,
    decay_steps: int,
    alpha: float,
    warmup_target: float | None,
    warmup_steps: int,
) -> Array:
    r"""``CosineDecay``, with Keras's optional linear warmup to ``warmup_target``.

    Without a warmup target, with :math:`s = \min(t, D)`:

    .. math::
      \eta_t = \eta_0 \left((1 - \alpha) \frac{1 + \cos(\pi s / D)}{2} + \alpha\right)

    With a warmup target :math:`W` over :math:`w` steps, :math:`s = \min(t, D + w)`:

    .. math::
      \eta_t = \begin{cases}
        \eta_0 + (W - \eta_0)\, s / w & s < w \\
        W \left((1 - \alpha) \frac{1 + \cos(\pi (s - w) / D)}{2} + \alpha\right) & s \ge w
      \end{cases}
    """
    if warmup_target is None:
        return initial_learning_rate * _cosine_decayed(
            np.minimum(t, decay_steps), decay_steps, alpha
        )
    s = np.minimum(t, decay_steps + warmup_steps)
    warming = s < warmup_steps
    ramp = (warmup_target - initial_learning_rate) * (
        np.where(warming, s, 0) / max(warmup_steps, 1)
    )
    decay = warmup_target * _cosine_decayed(np.maximum(s - warmup_steps, 0), decay_steps, alpha)
    return np.where(warming, ramp + initial_learning_rate, decay)


def cosine_decay_restarts(
    t: Steps,
    initial_learning_rate: float,
    first_decay_steps: int,
    t_mul: float,
    m_mul: float,
    alpha: float,
) -> Array:
    r"""``CosineDecayRestarts`` (Keras SGDR): periods grow by ``t_mul``, peaks by ``m_mul``.

    Period :math:`i` has length :math:`L_i = F\, \mu^i` and starts at
    :math:`S_i = F (\mu^i - 1) / (\mu - 1)` (:math:`S_i = i F` when :math:`\mu = 1`). With
    :math:`i` the last period with :math:`S_i \le t` and :math:`\phi = (t - S_i) / L_i`:

    .. math::
      \eta_t = \eta_0 \left((1 - \alpha)\, \frac{m^i (1 + \cos(\pi \phi))}{2} + \alpha\right)

    *lrgen difference*: :math:`i` comes from an exact search over a precomputed table of the
    starts :math:`S_i` (integers when :math:`\mu` is an integer, found with integer arithmetic),
    not from Keras's float32 logarithm, which at some exact restart steps picks the previous
    period (the end of a period, :math:`\approx \eta_0 \alpha`, instead of the restart's peak).
    """
    i, fraction = _restart_position(t, first_decay_steps, t_mul)
    cosine = 0.5 * np.power(m_mul, i, dtype=np.float64) * (1.0 + np.cos(np.pi * fraction))
    return initial_learning_rate * ((1 - alpha) * cosine + alpha)


def _restart_position(t: Steps, first: int, t_mul: float) -> tuple[Steps, Array]:
    """The period index (int64) and the fraction of the period done, for Keras's SGDR."""
    if t_mul == 1.0:
        i = t // first
        return i, (t - i * first) / first
    if t_mul.is_integer():
        starts, lengths = _integer_periods(first, int(t_mul), _t_max(t))
        i = np.searchsorted(starts, t, side="right") - 1
        return i, (t - starts[i]) / lengths[i]
    # Non-integer growth: the starts are not integers; search the float64 table. Sized by
    # doubling, so no logarithm is involved; entries past the largest step are dropped.
    t_max = _t_max(t)
    count = 64
    while True:
        index = np.arange(count)
        starts_f = first * (t_mul**index - 1) / (t_mul - 1)
        if starts_f[-1] > t_max:
            break
        count *= 2
    keep = starts_f <= t_max
    starts_f, lengths_f = starts_f[keep], first * t_mul ** index[keep]
    tf = t.astype(np.float64)
    i = np.searchsorted(starts_f, tf, side="right") - 1
    return i, (tf - starts_f[i]) / lengths_f[i]


# --- framework-neutral --------------------------------------------------------------------------


def constant(t: Steps, lr: float) -> Array:
    r"""``Constant``: :math:`\eta_t = \eta`."""
    return np.full(t.shape, lr)


def linear_warmup(t: Steps, lr: float, warmup_steps: int) -> Array:
    r"""``LinearWarmup``: linear from 0 to ``lr`` over ``warmup_steps``, then hold.

    .. math::
      \eta_t = \eta \min(1, t / w)
    """
    return lr * np.minimum(1.0, t / warmup_steps)


def exponential_warmup(t: Steps, lr: float, warmup_steps: int, start_lr: float) -> Array:
    r"""``ExponentialWarmup``: geometric from ``start_lr`` to ``lr``, then hold.

    .. math::
      \eta_t = \begin{cases}
        \eta_s (\eta / \eta_s)^{t / w} & t < w \\ \eta & t \ge w \end{cases}
    """
    warming = t < warmup_steps
    ramp = start_lr * (lr / start_lr) ** (np.where(warming, t, 0) / warmup_steps)
    return np.where(warming, ramp, lr)


def cosine_warmup(t: Steps, lr: float, warmup_steps: int) -> Array:
    r"""``CosineWarmup``: half-cosine from 0 to ``lr``, then hold.

    .. math::
      \eta_t = \begin{cases}
        \eta \frac{1 - \cos(\pi t / w)}{2} & t < w \\ \eta & t \ge w \end{cases}
    """
    warming = t < warmup_steps
    ramp = lr * (1 - np.cos(np.pi * np.where(warming, t, 0) / warmup_steps)) / 2
    return np.where(warming, ramp, lr)


def warmup_with_decay(
    t: Steps, lr: float, warmup_steps: int, total_steps: int, min_lr: float
) -> Array:
    r"""``WarmupWithDecay``: linear warmup, cosine decay to ``min_lr`` at ``total_steps``, hold.

    .. math::
      \eta_t = \begin{cases}
        \eta\, t / w & t < w \\
        \eta_{min} + (\eta - \eta_{min}) \frac{1 + \cos(\pi (t - w) / (T - w))}{2} & w \le t < T \\
        \eta_{min} & t \ge T
      \end{cases}
    """
    warming = t < warmup_steps
    ramp = lr * np.where(warming, t, 0) / max(warmup_steps, 1)
    progress = (np.clip(t, warmup_steps, total_steps) - warmup_steps) / (total_steps - warmup_steps)
    decay = min_lr + (lr - min_lr) * (1 + np.cos(np.pi * progress)) / 2
    return np.where(warming, ramp, np.where(t < total_steps, decay, min_lr))


def inverse_sqrt(t: Steps, lr: float, warmup_steps: int, timescale: float) -> Array:
    r"""``InverseSqrt``: linear warmup, then inverse square-root decay.

    .. math::
      \eta_t = \begin{cases}
        \eta\, t / w & t < w \\ \eta \sqrt{\tau / (t - w + \tau)} & t \ge w \end{cases}
    """
    warming = t < warmup_steps
    ramp = lr * t / warmup_steps
    decay = lr * np.sqrt(timescale / (np.maximum(t - warmup_steps, 0) + timescale))
    return np.where(warming, ramp, decay)


def _wsd_shape(progress: Array, kind: str, rising: bool) -> Array:
    """transformers' WSD warmup (rising) or decay factor for ``progress`` in [0, 1]."""
    if kind == "linear":
        return progress if rising else 1.0 - progress
    if kind == "cosine":
        # decay: 0.5 * (1 + cos(pi * num_cycles * 2 * progress)) with num_cycles = 0.5
        return (
            0.5 * (1.0 - np.cos(np.pi * progress))
            if rising
            else 0.5 * (1.0 + np.cos(np.pi * 0.5 * 2.0 * progress))
        )
    return 1.0 - np.sqrt(1.0 - progress) if rising else 1.0 - np.sqrt(progress)  # "1-sqrt"


def warmup_stable_decay(
    t: Steps,
    lr: float,
    warmup_steps: int,
    stable_steps: int,
    decay_steps: int,
    min_lr_ratio: float,
    warmup_type: str,
    decay_type: str,
) -> Array:
    r"""``WarmupStableDecay``: ``lr`` times transformers' ``_get_wsd_scheduler_lambda``
    (``num_cycles = 0.5``).

    With :math:`r` = ``min_lr_ratio`` and :math:`g(x) = \max(0, x (1 - r) + r)`:

    .. math::
      \eta_t / \eta = \begin{cases}
        g(\text{warm}(t / \max(1, w))) & t < w \\
        1 & w \le t < w + s \\
        g(\text{decay}((t - w - s) / \max(1, d))) & w + s \le t < w + s + d \\
        r & t \ge w + s + d
      \end{cases}

    warm: linear :math:`p`, cosine :math:`(1 - \cos \pi p) / 2`, 1-sqrt :math:`1 - \sqrt{1 - p}`;
    decay: linear :math:`1 - p`, cosine :math:`(1 + \cos \pi p) / 2`, 1-sqrt :math:`1 - \sqrt{p}`.
    """
    stable_from = warmup_steps
    decay_from = warmup_steps + stable_steps
    end = decay_from + decay_steps
    warm_p = np.minimum(t, warmup_steps) / max(1, warmup_steps)
    decay_p = (np.clip(t, decay_from, end) - decay_from) / max(1, decay_steps)
    warm = np.maximum(
        0.0, _wsd_shape(warm_p, warmup_type, True) * (1.0 - min_lr_ratio) + min_lr_ratio
    )
    decay = np.maximum(
        0.0, _wsd_shape(decay_p, decay_type, False) * (1.0 - min_lr_ratio) + min_lr_ratio
    )
    factor = np.select(
        [t < stable_from, t < decay_from, t < end], [warm, 1.0, decay], default=min_lr_ratio
    )
    return lr * factor


def _hf_or(value: Any, default: Any) -> Any:
    return default if value is None else value


def transformers_schedule(t: Steps, lr: float, kind: str, fields: Mapping[str, Any]) -> Array:
    r"""``TransformersSchedule``: ``lr`` times the ``lr_lambda`` that
    ``transformers.get_scheduler(kind, ...)`` builds (transformers 5.24, ``optimization.py``),
    with ``TrainingArguments.get_warmup_steps``' rule for the warmup :math:`w`.

    With :math:`n` = ``num_training_steps``, warmup :math:`w = \lfloor s \rfloor` for
    ``warmup_steps`` :math:`s \ge 1`, else :math:`\lceil n \rho \rceil` with :math:`\rho`
    = ``warmup_steps`` when it is in (0, 1), else ``warmup_ratio``; the warmup factor is
    :math:`t / \max(1, w)` for :math:`t < w`, the progress :math:`p = (t - w) / \max(1, n - w)`
    (not clamped) and :math:`c(p) = (1 + \cos(2 \pi \nu p)) / 2` with :math:`\nu` =
    ``num_cycles``. After the warmup, per ``kind``:

    * linear :math:`\max(0, (n - t) / \max(1, n - w))`; cosine :math:`\max(0, c(p))`;
    * cosine_with_restarts :math:`(1 + \cos(\pi ((\nu p) \bmod 1))) / 2` for :math:`p < 1`,
      then 0 (:math:`\nu p \bmod 1` computed exactly as :math:`(\nu (t - w) \bmod
      \max(1, n - w)) / \max(1, n - w)`);
    * polynomial :math:`(\eta - \eta_{end}) ((n - t) / (n - w))^{power} + \eta_{end}` up to
      :math:`n`, then :math:`\eta_{end}` (a rate, not a factor); :math:`n = w` gives
      :math:`0^{power}` at :math:`t = n` (*lrgen difference*: transformers divides by zero);
    * constant 1 (no warmup); constant_with_warmup 1;
      inverse_sqrt :math:`1 / \sqrt{(t - w + \tau) / \tau}`, :math:`\tau` = ``timescale``
      or :math:`w`, or 10000 when :math:`w = 0`;
    * cosine_with_min_lr :math:`\max(0, c(p) (1 - r) + r)`, :math:`r` = ``min_lr_rate`` or
      ``min_lr`` / :math:`\eta`; cosine_warmup_with_min_lr the same with
      :math:`p = (t - w + 1) / \max(1, n - w)` and the warmup :math:`(t + 1) / \max(1, w)`, or
      :math:`a + (1 - a) t / \max(1, w - 1)` with :math:`a` = ``warmup_lr_rate``;
    * warmup_stable_decay: transformers' ``_get_wsd_scheduler_lambda`` with
      :math:`s` = ``num_stable_steps`` or :math:`n - w - d`, :math:`d` = ``num_decay_steps``.
    """
    n = int(fields["num_training_steps"])
    steps, ratio = _hf_or(fields["warmup_steps"], 0.0), _hf_or(fields["warmup_ratio"], 0.0)
    w = int(steps) if steps >= 1 else math.ceil(n * (steps if steps > 0 else ratio))
    if kind == "constant":
        return np.full(t.shape, lr)
    tf = t.astype(np.float64)
    span = max(1, n - w)
    warm = tf / max(1, w)
    progress = (tf - w) / span
    default_cycles = 1.0 if kind == "cosine_with_restarts" else 0.5
    cycles = float(_hf_or(fields["num_cycles"], default_cycles))

    def wave(elapsed: Array, length: float) -> Array:
        # cos(2 pi num_cycles elapsed / length), reduced to one period first: the cosine of a
        # large argument loses digits (transformers' unreduced form agrees to 1e-12 near N).
        phase = np.mod(2.0 * cycles * elapsed, 2.0 * length) / length
        return 0.5 * (1.0 + np.cos(np.pi * phase))

    def floored(r: float, factor: Array) -> Array:
        return np.maximum(0.0, factor * (1 - r) + r)

    def min_rate() -> float:
        rate = fields["min_lr_rate"]
        return float(rate) if rate is not None else float(fields["min_lr"]) / lr

    if kind == "linear":
        factor = np.maximum(0.0, (n - tf) / span)
    elif kind == "cosine":
        factor = np.maximum(0.0, wave(tf - w, span))
    elif kind == "cosine_with_restarts":
        position = np.mod(cycles * (tf - w), span) / span
        factor = np.where(progress >= 1.0, 0.0, 0.5 * (1.0 + np.cos(np.pi * position)))
    elif kind == "polynomial":
        lr_end, power = float(_hf_or(fields["lr_end"], 1e-7)), float(_hf_or(fields["power"], 1.0))
        remaining = np.clip(n - tf, 0.0, None) / span
        decay = (lr - lr_end) * remaining**power + lr_end
        return np.where(t < w, lr * warm, np.where(t > n, lr_end, decay))
    elif kind == "constant_with_warmup":
        factor = np.ones(t.shape)
    elif kind == "inverse_sqrt":
        timescale = float(_hf_or(fields["timescale"], w or 10_000))
        factor = 1.0 / np.sqrt((np.maximum(tf, w) - w + timescale) / timescale)
    elif kind == "cosine_with_min_lr":
        factor = floored(min_rate(), wave(tf - w, span))
    elif kind == "cosine_warmup_with_min_lr":
        start = fields["warmup_lr_rate"]
        if start is None:
            warm = (tf + 1.0) / max(1.0, w)
        else:
            warm = start + (1.0 - start) * tf / max(1, w - 1)
        factor = floored(min_rate(), wave(tf - w + 1.0, max(1.0, n - w)))
    else:  # warmup_stable_decay
        return lr * _hf_wsd(t, w, n, cycles, fields)
    return lr * np.where(t < w, warm, factor)


def _hf_wsd(t: Steps, w: int, n: int, cycles: float, fields: Mapping[str, Any]) -> Array:
    """transformers' ``_get_wsd_scheduler_lambda`` (the factor of ``lr``)."""
    decay_steps = int(fields["num_decay_steps"])
    stable = fields["num_stable_steps"]
    stable = int(stable) if stable is not None else n - w - decay_steps
    r = float(_hf_or(fields["min_lr_ratio"], 0.0))
    warmup_type = _hf_or(fields["warmup_type"], "linear")
    decay_type = _hf_or(fields["decay_type"], "cosine")
    decay_from, end = w + stable, w + stable + decay_steps
    p = np.clip(t, 0, w) / max(1, w)
    if warmup_type == "linear":
        rise = p
    elif warmup_type == "cosine":
        rise = 0.5 * (1.0 - np.cos(np.pi * p))
    else:
        rise = 1.0 - np.sqrt(1.0 - p)
    q = (np.clip(t, decay_from, max(end, decay_from)) - decay_from) / max(1, decay_steps)
    if decay_type == "linear":
        fall = 1.0 - q
    elif decay_type == "cosine":
        fall = 0.5 * (1.0 + np.cos(np.pi * cycles * 2.0 * q))
    else:
        fall = 1.0 - np.sqrt(q)
    warm = np.maximum(0.0, rise * (1.0 - r) + r)
    decay = np.maximum(0.0, fall * (1.0 - r) + r)
    return np.select([t < w, t < decay_from, t < end], [warm, 1.0, decay], default=r)
