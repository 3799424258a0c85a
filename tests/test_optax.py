"""The JAX/optax target (issue 14): ``lrgen build --target optax`` -> ``NAME_optax.py``.

Import-and-compare: every example's optax schedule against ``lrgen.evaluate`` under ``jax.jit``
and eagerly, with and without ``jax_enable_x64`` (int32 counter and float32 results by the
float32 rule; int64 counter and float64 results by the float64 rule), at steps 0..1000, every
boundary -1/0/+1, 2**24 +- 1 and 2**31 - 1; against optax's built-in schedules where they mean
the same; inside optax optimizers (``sgd``, ``adamw``, ``inject_hyperparams`` with the momentum
schedule); no recompilation when only the step changes; the CLI (targets, ``--check``,
determinism, warnings and name errors with positions). JAX runs in process: it does not touch
the Keras backend (TensorFlow here), and x64 is switched with ``jax.enable_x64``, which restores
it.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lrgen
from lrgen.cli import main
from lrgen.loader import load_text
from tests.conftest import skip_without_gpu
from tests.frameworks import boundary_steps, float32_close, float64_close, import_path
from tests.strategies import (
    LARGE_STEPS,
    float32_rule,
    float32_steps,
    float64_steps,
    generated_module,
    make_case,
)

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
optax = pytest.importorskip("optax")
torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "spec" / "examples").glob("*.yaml"))
MAX_STEP = 2**31 - 1
STEPS_PER_EPOCH, EPOCH_OFFSET = 3, 2


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Any, Any]]:
    """Every example built for optax: stem -> (spec, module)."""
    out = tmp_path_factory.mktemp("optax")
    assert main(["build", *map(str, EXAMPLES), "--out", str(out), "--target", "optax"]) == 0
    return {
        path.stem: (lrgen.load(path), import_path(out / f"{path.stem}_optax.py"))
        for path in EXAMPLES
    }


def _closed_form(built: dict[str, tuple[Any, Any]]) -> Iterator[tuple[Any, Any]]:
    for spec, module in built.values():
        for schedule in spec.entries:
            if not schedule.metric_driven:
                yield schedule, module


def _factory(module: Any, schedule: Any, suffix: str = "") -> Callable[..., Any]:
    """The schedule's optax factory, called with the spec defaults (``steps_per_epoch`` for
    ``unit: epoch``)."""
    fn = getattr(module, schedule.name + suffix)
    return fn(steps_per_epoch=STEPS_PER_EPOCH) if schedule.unit == "epoch" else fn()


def _steps(schedule: Any) -> np.ndarray:
    """0..1000, every boundary -1/0/+1, 2**24 +- 1, 2**31 - 2 and 2**31 - 1 (as counts)."""
    bound = lrgen.ir.bind(schedule)
    steps = np.unique(np.concatenate([boundary_steps(bound, 1000), LARGE_STEPS]))
    if schedule.unit == "epoch":  # counts are steps * STEPS_PER_EPOCH + EPOCH_OFFSET, in int32
        steps = steps[steps * STEPS_PER_EPOCH + EPOCH_OFFSET <= MAX_STEP]
    return steps[steps >= 0]


def _counts(schedule: Any, steps: np.ndarray) -> np.ndarray:
    if schedule.unit == "epoch":
        return steps * STEPS_PER_EPOCH + EPOCH_OFFSET
    return steps


def _assert_close(rule: Callable[..., np.ndarray], got: Any, ref: np.ndarray, steps: Any) -> None:
    got = np.asarray(got, dtype=np.float64)
    assert got.shape == ref.shape
    ok = rule(got, ref)
    if not ok.all():
        i = int(np.argmax(~ok))
        raise AssertionError(
            f"first failure at t={int(steps[i])}: got {got[i]!r}, expected {ref[i]!r}"
        )


# --- every example against the reference ---------------------------------------------------------


@pytest.mark.parametrize("x64", [False, True], ids=["int32-float32", "x64"])
def test_every_example_equals_reference_jitted_and_eager(built: dict, x64: bool) -> None:
    expected_dtype = np.float64 if x64 else np.float32
    checked = 0
    with jax.enable_x64(x64):
        for schedule, module in _closed_form(built):
            # the rules and steps of the property tests (docs/verification.md)
            case = make_case(schedule)
            if x64:
                rule, steps = float64_close, float64_steps(case, _steps(schedule))
            else:
                rule, steps = float32_rule(case), float32_steps(case, _steps(schedule))
            ref = lrgen.evaluate(schedule, steps)
            fn = _factory(module, schedule)
            # optax counts in int32 with and without x64: the schedule widens it itself.
            counts = jnp.asarray(_counts(schedule, steps), dtype=jnp.int32)
            jitted = jax.jit(jax.vmap(fn))(counts)
            assert jitted.dtype == expected_dtype, schedule.name
            _assert_close(rule, jitted, ref, steps)
            eager = fn(counts)
            assert eager.dtype == expected_dtype
            _assert_close(rule, eager, ref, steps)
            scalar = jax.jit(fn)(int(_counts(schedule, steps)[-1]))  # a weakly typed int
            assert scalar.shape == ()
            np.testing.assert_allclose(scalar, jitted[-1], rtol=1e-13 if x64 else 1e-6)
            checked += 1
    expected = sum(not s.metric_driven for spec, _ in built.values() for s in spec.entries)
    assert checked == expected > 30  # every closed-form schedule of spec/examples


def test_int64_counts_past_int32_under_x64(built: dict) -> None:
    """Under x64 the counter is int64: steps past 2**31 - 1 are exact (restart tables, which
    stop at 2**31 - 1 on every target, left out)."""
    # 0..1000 too: the float64 rule's floor is relative to the peak
    steps = np.concatenate([np.arange(1001), [2**31, 2**31 + 1, 2**33 + 7, 2**40, 10**15]])
    restarts = {"CosineAnnealingWarmRestarts", "CosineDecayRestarts"}
    checked = 0
    with jax.enable_x64(True):
        for schedule, module in _closed_form(built):
            kinds = {n.kind for n in _walk(schedule.node)}
            if kinds & restarts or schedule.unit == "epoch":
                continue
            got = jax.jit(_factory(module, schedule))(jnp.asarray(steps, dtype=jnp.int64))
            _assert_close(float64_close, got, lrgen.evaluate(schedule, steps), steps)
            checked += 1
    assert checked >= 25


def _walk(node: Any) -> Iterator[Any]:
    yield node
    for child in node.children:
        yield from _walk(child)


def _module_for(yaml_schedule: dict[str, Any], name: str = "s") -> tuple[Any, Any]:
    text = json.dumps({"lrgen": 1, "schedules": {name: yaml_schedule}})
    spec = load_text(text, "optax_case.json")
    return spec.entries[0], generated_module(spec, "optax")


@pytest.mark.parametrize(
    ("node", "lr", "steps"),
    [
        ({"kind": "CosineDecay", "decay_steps": 10_000_000_000}, 1000.0, [0, 10**9, MAX_STEP]),
        ({"kind": "MultiStepLR", "milestones": [5, 3_000_000_000]}, 0.1, [4, 5, MAX_STEP]),
        (
            {
                "kind": "PiecewiseConstantDecay",
                "boundaries": [10, 3_000_000_000],
                "values": [1.0, 0.5, 0.1],
            },
            1.0,
            [10, 11, MAX_STEP],
        ),
        ({"kind": "CosineAnnealingLR", "T_max": 2**30}, 0.1, [0, 2**30, MAX_STEP]),
    ],
)
def test_giant_int_fields_with_and_without_x64(node: dict, lr: float, steps: list[int]) -> None:
    """optax's ``test_with_giant_int_steps``: integers beyond int32 in the spec. Without x64 the
    int32 form decides them from the counter's range; with x64 they are computed in int64, also
    at steps beyond int32."""
    schedule, module = _module_for({"lr": lr, "schedule": node})
    ref = lrgen.evaluate(schedule, steps)
    with jax.enable_x64(False):
        got = jax.jit(jax.vmap(module.s()))(jnp.asarray(steps, dtype=jnp.int32))
        _assert_close(float32_close, got, ref, steps)
    with jax.enable_x64(True):
        # optax's count is int32 under x64 too: the schedule widens it before the int64 form
        got = jax.jit(jax.vmap(module.s()))(jnp.asarray(steps, dtype=jnp.int32))
        _assert_close(float64_close, got, ref, steps)
        wide = [*steps, 4 * 10**9, 10**10 - 1, 10**10 + 1]
        got = jax.jit(jax.vmap(module.s()))(jnp.asarray(wide, dtype=jnp.int64))
        _assert_close(float64_close, got, lrgen.evaluate(schedule, wide), wide)


def test_optax_giant_int_steps_value() -> None:
    """The number optax's own test checks, without x64 as optax runs it."""
    _, module = _module_for(
        {"lr": 1000.0, "schedule": {"kind": "CosineDecay", "decay_steps": 10_000_000_000}}
    )
    with jax.enable_x64(False):
        np.testing.assert_allclose(float(jax.jit(module.s())(int(1e9))), 975.52826, rtol=1e-6)


def test_giant_param_override_is_checked_when_called() -> None:
    _, module = _module_for(
        {
            "lr": 0.1,
            "params": {"total": 1000},
            "schedule": {"kind": "MultiStepLR", "milestones": [10, "total"]},
        }
    )
    with jax.enable_x64(False):
        assert float(module.s(total=2**31 - 1)(jnp.int32(2**31 - 1))) == pytest.approx(0.001)
        with pytest.raises(ValueError, match=r"^2147483648 does not fit the int32 step counter"):
            module.s(total=2**31)(0)
    with jax.enable_x64(True):
        values = module.s(total=2**31)(jnp.asarray([2**31 - 1, 2**31], dtype=jnp.int64))
        np.testing.assert_allclose(np.asarray(values), [0.01, 0.001], rtol=1e-15)


# --- optax's built-in schedules ------------------------------------------------------------------

#: (optax built-in, the lrgen node that means the same, lr). Boundary differences are mapped
#: explicitly (docs/differences.md): optax's piecewise_constant switches at the boundary, Keras's
#: PiecewiseConstantDecay one step later; optax's onecycle phases end at pct * T, torch's at
#: pct * total_steps - 1 and it runs one step longer.
BUILTINS: dict[str, tuple[Callable[[], Any], dict[str, Any], float]] = {
    "cosine_decay_schedule": (
        lambda: optax.cosine_decay_schedule(0.1, 1000, alpha=0.1),
        {"kind": "CosineDecay", "decay_steps": 1000, "alpha": 0.1},
        0.1,
    ),
    "warmup_cosine_decay_schedule": (
        lambda: optax.warmup_cosine_decay_schedule(0.001, 0.1, 100, 1000, end_value=0.001),
        {
            "kind": "CosineDecay",
            "decay_steps": 900,
            "warmup_target": 0.1,
            "warmup_steps": 100,
            "alpha": 0.01,
        },
        0.001,
    ),
    "exponential_decay": (
        lambda: optax.exponential_decay(0.1, 100, 0.5),
        {"kind": "ExponentialDecay", "decay_steps": 100, "decay_rate": 0.5},
        0.1,
    ),
    "exponential_decay-staircase": (
        lambda: optax.exponential_decay(0.1, 100, 0.5, staircase=True),
        {"kind": "ExponentialDecay", "decay_steps": 100, "decay_rate": 0.5, "staircase": True},
        0.1,
    ),
    "piecewise_constant_schedule-MultiStepLR": (
        lambda: optax.piecewise_constant_schedule(0.1, {300: 0.1, 600: 0.1}),
        {"kind": "MultiStepLR", "milestones": [300, 600], "gamma": 0.1},
        0.1,
    ),
    "piecewise_constant_schedule-PiecewiseConstantDecay": (
        lambda: optax.piecewise_constant_schedule(0.1, {300: 0.5, 600: 0.2}),
        {"kind": "PiecewiseConstantDecay", "boundaries": [299, 599], "values": [0.1, 0.05, 0.01]},
        0.1,
    ),
    "polynomial_schedule": (
        lambda: optax.polynomial_schedule(0.1, 0.001, 2.0, 1000),
        {"kind": "PolynomialDecay", "decay_steps": 1000, "end_learning_rate": 0.001, "power": 2.0},
        0.1,
    ),
    "linear_onecycle_schedule": (
        lambda: optax.linear_onecycle_schedule(1000, 0.1, pct_start=0.3, pct_final=0.6),
        {
            "kind": "OneCycleLR",
            "max_lr": 0.1,
            "total_steps": 1001,
            "pct_start": 301 / 1001,
            "anneal_strategy": "linear",
            "three_phase": True,
            "cycle_momentum": False,
        },
        0.1,
    ),
    "cosine_onecycle_schedule": (
        lambda: optax.cosine_onecycle_schedule(1000, 0.1),
        {
            "kind": "OneCycleLR",
            "max_lr": 0.1,
            "total_steps": 1001,
            "pct_start": 301 / 1001,
            "cycle_momentum": False,
        },
        0.1,
    ),
    "sgdr_schedule-CosineAnnealingWarmRestarts": (
        lambda: optax.sgdr_schedule(
            [dict(init_value=0.1, peak_value=0.1, decay_steps=200, warmup_steps=0, end_value=0.001)]
            * 6
        ),
        {"kind": "CosineAnnealingWarmRestarts", "T_0": 200, "eta_min": 0.001},
        0.1,
    ),
    "sgdr_schedule-CosineDecayRestarts": (
        lambda: optax.sgdr_schedule(
            [dict(init_value=0.1, peak_value=0.1, decay_steps=200, warmup_steps=0, end_value=0.001)]
            * 6
        ),
        {"kind": "CosineDecayRestarts", "first_decay_steps": 200, "t_mul": 1.0, "alpha": 0.01},
        0.1,
    ),
}


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_equals_optax_builtin(name: str) -> None:
    make_builtin, node, lr = BUILTINS[name]
    _, module = _module_for({"lr": lr, "schedule": node})
    # optax's sgdr_schedule holds its end value after the last listed cycle (1200 here)
    steps = np.arange(0, 1200 if name.startswith("sgdr") else 1501)
    with jax.enable_x64(True):
        # optax's built-ins compute in float32 from an int32 count even under x64
        counts = jnp.asarray(steps, dtype=jnp.int64)
        expected = np.asarray(jax.vmap(make_builtin())(counts), dtype=np.float64)
        got = np.asarray(jax.jit(jax.vmap(module.s()))(counts), dtype=np.float64)
    # optax writes cosines as 1 + cos, which keeps only the peak's absolute accuracy at a trough.
    ok = np.abs(got - expected) <= 1e-9 * np.abs(expected) + 1e-14 * np.max(np.abs(expected))
    assert ok.all(), (steps[~ok][:5], got[~ok][:5], expected[~ok][:5])


def test_piecewise_boundary_difference_is_one_step() -> None:
    """The documented difference: Keras's rule keeps values[0] *at* the boundary, optax's
    piecewise_constant_schedule switches there."""
    _, module = _module_for(
        {
            "lr": 0.1,
            "schedule": {
                "kind": "PiecewiseConstantDecay",
                "boundaries": [300],
                "values": [0.1, 0.05],
            },
        }
    )
    builtin = optax.piecewise_constant_schedule(0.1, {300: 0.5})
    at = jnp.asarray([299, 300, 301], dtype=jnp.int32)
    assert np.asarray(module.s()(at)).tolist() == pytest.approx([0.1, 0.1, 0.05])
    assert np.asarray(builtin(at)).tolist() == pytest.approx([0.1, 0.05, 0.05])


# --- inside optax ---------------------------------------------------------------------------------


@pytest.mark.parametrize("x64", [False, True], ids=["int32-float32", "x64"])
def test_sgd_steps_by_the_schedule_in_a_jitted_train_step(built: dict, x64: bool) -> None:
    """``optax.sgd(learning_rate=schedule)``: with a unit gradient, step k moves the parameter
    by exactly -lr(k)."""
    spec, module = built["transformer"]
    schedule = spec.schedules["warmup_cosine"]
    n = 60
    with jax.enable_x64(x64):
        fn = module.warmup_cosine(total_steps=50, warmup_steps=10)
        optimizer = optax.sgd(learning_rate=fn)
        params = {"w": jnp.zeros(())}
        state = optimizer.init(params)

        @jax.jit
        def step(params: Any, state: Any) -> tuple[Any, Any]:
            grads = jax.grad(lambda p: p["w"])(params)
            updates, state = optimizer.update(grads, state, params)
            return optax.apply_updates(params, updates), state

        moves = []
        for _ in range(n):
            new, state = step(params, state)
            moves.append(float(params["w"] - new["w"]))
            params = new
        assert step._cache_size() == 1  # one compilation for every step
    ref = lrgen.evaluate(schedule, np.arange(n), params={"total_steps": 50, "warmup_steps": 10})
    # float32: w accumulates, so each move is a difference of two rounded sums.
    rule = float64_close if x64 else (lambda g, r: np.abs(g - r) <= 1e-6 * np.max(r))
    _assert_close(rule, np.array(moves), ref, np.arange(n))


def test_adamw_takes_the_schedule_and_its_hyperparams_follow_it(built: dict) -> None:
    spec, module = built["transformer"]
    fn = module.warmup_cosine(total_steps=30, warmup_steps=5)
    optimizer = optax.inject_hyperparams(optax.adamw)(learning_rate=fn, weight_decay=0.01)
    params = jnp.ones(3)
    state = optimizer.init(params)
    update = jax.jit(optimizer.update)
    seen = []  # after update k, the hyperparams hold what update k used: lr(k)
    for _ in range(12):
        _, state = update(jnp.ones(3), state, params)
        seen.append(float(state.hyperparams["learning_rate"]))
    ref = lrgen.evaluate(
        spec.schedules["warmup_cosine"],
        np.arange(12),
        params={"total_steps": 30, "warmup_steps": 5},
    )
    _assert_close(float32_close, np.array(seen), ref, np.arange(12))


def test_momentum_schedule_equals_torch_onecycle_in_inject_hyperparams(built: dict) -> None:
    """``NAME_momentum`` is the momentum torch's OneCycleLR sets, step by step; with
    ``inject_hyperparams`` optax's SGD uses it."""
    _, module = built["cyclical"]
    total = 100
    lr_fn = module.one_cycle_linear(total_steps=total)
    momentum_fn = module.one_cycle_linear_momentum(total_steps=total)
    weight = torch.zeros(1, requires_grad=True)
    sgd = torch.optim.SGD([weight], lr=0.1, momentum=0.9)
    torch_sched = torch.optim.lr_scheduler.OneCycleLR(
        sgd, max_lr=0.1, total_steps=total, pct_start=0.25, anneal_strategy="linear"
    )
    torch_lr, torch_momentum = [], []
    for _ in range(total):
        torch_lr.append(sgd.param_groups[0]["lr"])
        torch_momentum.append(sgd.param_groups[0]["momentum"])
        sgd.step()
        torch_sched.step()
    optimizer = optax.inject_hyperparams(optax.sgd)(learning_rate=lr_fn, momentum=momentum_fn)
    params = jnp.zeros(())
    state = optimizer.init(params)
    update = jax.jit(optimizer.update)
    seen_lr, seen_momentum = [], []
    for _ in range(total):  # after update k, the hyperparams hold what update k used
        _, state = update(jnp.ones(()), state, params)
        seen_lr.append(float(state.hyperparams["learning_rate"]))
        seen_momentum.append(float(state.hyperparams["momentum"]))
    steps = np.arange(total)
    _assert_close(float32_close, np.array(seen_lr), np.array(torch_lr), steps)
    _assert_close(float32_close, np.array(seen_momentum), np.array(torch_momentum), steps)
    assert not hasattr(module, "one_cycle_three_phase_momentum") or callable(
        module.one_cycle_three_phase_momentum
    )


def test_only_cycling_kinds_with_cycle_momentum_get_a_momentum_schedule(built: dict) -> None:
    _, cyclical = built["cyclical"]
    _, transformer = built["transformer"]
    assert "one_cycle_momentum" in cyclical.__all__
    assert "clr_custom_scale_momentum" not in cyclical.__all__  # cycle_momentum: false
    assert not [name for name in transformer.__all__ if name.endswith("_momentum")]


def test_jit_vmap_grad_and_no_retrace_when_only_the_step_changes(built: dict) -> None:
    _, module = built["cyclical"]
    fn = module.sgdr(steps_per_epoch=10)
    jitted = jax.jit(fn)
    for k in range(0, 500, 7):
        jitted(jnp.int32(k))
    assert jitted._cache_size() == 1
    # grad through a loss scaled by the learning rate: defined, and equal to lr(t) * dloss
    grad = jax.grad(lambda w, t: fn(t) * w**2)(jnp.float32(3.0), jnp.int32(5))
    assert float(grad) == pytest.approx(6.0 * float(fn(5)), rel=1e-6)
    batch = jax.vmap(fn)(jnp.arange(10, dtype=jnp.int32))
    assert batch.shape == (10,)


@pytest.mark.gpu
def test_examples_equal_reference_on_gpu(built: dict) -> None:
    gpus = [d for d in jax.devices() if d.platform == "gpu"]
    skip_without_gpu(bool(gpus), "a JAX GPU device")
    for x64, rule in ((False, float32_close), (True, float64_close)):
        with jax.enable_x64(x64):
            for schedule, module in _closed_form(built):
                steps = _steps(schedule)
                counts = jax.device_put(jnp.asarray(_counts(schedule, steps), jnp.int32), gpus[0])
                got = jax.jit(jax.vmap(_factory(module, schedule)))(counts)
                assert got.devices() == {gpus[0]}
                _assert_close(rule, got, lrgen.evaluate(schedule, steps), steps)


# --- the build ------------------------------------------------------------------------------------


def test_build_writes_every_target_and_the_default_stays_torch_keras(tmp_path: Path) -> None:
    assert main(["build", *map(str, EXAMPLES), "--out", str(tmp_path / "all"),
                 "--target", "torch,keras,optax"]) == 0  # fmt: skip
    names = sorted(p.name for p in (tmp_path / "all").iterdir())
    assert names == sorted(
        f"{p.stem}_{t}.py" for p in EXAMPLES for t in ("torch", "keras", "optax")
    )
    assert main(["build", str(EXAMPLES[0]), "--out", str(tmp_path / "default")]) == 0
    assert sorted(p.name for p in (tmp_path / "default").iterdir()) == [
        f"{EXAMPLES[0].stem}_keras.py",
        f"{EXAMPLES[0].stem}_torch.py",
    ]


def test_optax_modules_import_only_jax_and_the_standard_library(tmp_path: Path) -> None:
    assert main(["build", *map(str, EXAMPLES), "--out", str(tmp_path), "--target", "optax"]) == 0
    for path in tmp_path.glob("*_optax.py"):
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported.add((node.module or "").split(".")[0])
        assert imported <= {"__future__", "collections", "math", "typing", "jax"}, path.name


def test_build_is_deterministic_and_check_sees_stale_optax(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["build", *map(str, EXAMPLES), "--out", str(tmp_path), "--target", "optax"]
    assert main(args) == 0
    first = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert main(args) == 0
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == first
    assert main([*args, "--check"]) == 0
    target = tmp_path / "transformer_optax.py"
    target.write_text(target.read_text().replace("jnp.minimum", "jnp.maximum", 1))
    capsys.readouterr()
    assert main([*args, "--check"]) == 1
    out = capsys.readouterr().out
    assert "+++ " + str(target) + " (from spec)" in out
    assert "1 file(s) out of date" in out


def test_plateau_is_left_out_with_a_positioned_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plateau = ROOT / "spec" / "examples" / "plateau.yaml"
    assert main(["build", str(plateau), "--out", str(tmp_path), "--target", "optax"]) == 0
    err = capsys.readouterr().err
    assert (
        f"{plateau}:13:7: schedules.plateau_val_loss.schedule: warning[optax-plateau]: "
        "ReduceLROnPlateau is not generated for optax: it needs the metric" in err
    )
    module = import_path(tmp_path / "plateau_optax.py")
    assert module.__all__ == []


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (
            ("jnp",),
            "the generated optax module would define 'jnp' for this schedule and for "
            "'import jax.numpy'",
        ),
        (
            ("one", "one_momentum"),
            "the generated optax module would define 'one_momentum' for this schedule and for "
            "schedule 'one'",
        ),
    ],
)
def test_names_the_optax_module_cannot_define_are_errors_with_positions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], names: tuple[str, ...], message: str
) -> None:
    lines = ["lrgen: 1", "schedules:"]
    for name in names:
        lines += [
            f"  {name}:",
            "    lr: 0.1",
            "    schedule: {kind: OneCycleLR, max_lr: 0.1, total_steps: 100}",
        ]
    spec = tmp_path / "names.yaml"
    spec.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    assert main(["build", str(spec), "--out", str(out), "--target", "torch,optax"]) == 2
    line = 4 + 3 * (len(names) - 1)  # the schedule's body
    assert f"{spec}:{line}:5: schedules.{names[-1]}: {message}" in capsys.readouterr().out
    assert not out.exists()  # nothing written, not even the torch module
    # the torch module has no such names: it builds alone
    assert main(["build", str(spec), "--out", str(out), "--target", "torch"]) == 0


def test_unknown_target_lists_optax(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", str(EXAMPLES[0]), "--target", "jax"]) == 2
    assert "choose from torch, keras, optax" in capsys.readouterr().err
