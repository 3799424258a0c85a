"""optax: a generated schedule inside a jitted train step vs optax's built-in schedule.

A small MLP (32 -> 64 -> 1, float32, batch 64) trains with ``optax.adamw`` whose
``learning_rate`` is the generated optax schedule (``lrgen build --target optax`` of the spec in
this file) or the optax built-in that means the same (tests/test_optax.py checks they agree):
``warmup_cosine_decay_schedule``, ``cosine_onecycle_schedule``, ``exponential_decay`` with
``staircase=True``, and ``piecewise_constant_schedule``. The train step is one ``jax.jit``
function; a block of N steps is timed per side, the sides interleaved over repeats, and the
result is the median over repeats of the per-repeat ratio generated / built-in (time; <= 1.0x
means the generated schedule costs no more). The schedule alone inside XLA is timed too: one
jitted ``vmap`` over 10^6 step counts.

Recompiles: JAX's own compile events (``jax.monitoring``, ``/jax/core/compile/
backend_compile_duration``) are counted while the train step runs 1000 more steps after the
warm-up (goal: none when only the step changes), and when the schedule's params change (a new
schedule is a new Python closure: the optimizer, and so the step, are traced again — for the
built-in too).

    python bench/optax_schedule.py [--quick] [--out docs/performance.md]
"""

from __future__ import annotations

import os
import sys
import tempfile
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C

SPEC_TEXT = """\
lrgen: 1
description: Schedules with an optax built-in equivalent, for bench/optax_schedule.py.
schedules:
  warmup_cosine:
    description: optax.warmup_cosine_decay_schedule(1e-4, 1e-2, 500, 100_000, 1e-5).
    lr: 1.0e-4
    params: {total_steps: 100000}
    schedule:
      kind: CosineDecay
      decay_steps: "total_steps - 500"
      warmup_target: 1.0e-2
      warmup_steps: 500
      alpha: 1.0e-3
  onecycle:
    description: optax.cosine_onecycle_schedule(100_000, 1e-2) (phase ends mapped).
    lr: 1.0e-2
    schedule:
      kind: OneCycleLR
      max_lr: 1.0e-2
      total_steps: 100001
      pct_start: 0.29999700002999973
      cycle_momentum: false
  staircase:
    description: optax.exponential_decay(1e-2, 1000, 0.5, staircase=True).
    lr: 1.0e-2
    schedule: {kind: ExponentialDecay, decay_steps: 1000, decay_rate: 0.5, staircase: true}
  multistep:
    description: "optax.piecewise_constant_schedule(1e-2, {30_000: 0.1, 60_000: 0.1, 90_000: 0.1})."
    lr: 1.0e-2
    schedule: {kind: MultiStepLR, milestones: [30000, 60000, 90000], gamma: 0.1}
"""

CASES = ("warmup_cosine", "onecycle", "staircase", "multistep")


def builtin(name: str, total_steps: int = 100_000):
    import optax

    if name == "warmup_cosine":
        return optax.warmup_cosine_decay_schedule(1e-4, 1e-2, 500, total_steps, 1e-5)
    if name == "onecycle":
        return optax.cosine_onecycle_schedule(100_000, 1e-2)
    if name == "staircase":
        return optax.exponential_decay(1e-2, 1000, 0.5, staircase=True)
    if name == "multistep":
        return optax.piecewise_constant_schedule(1e-2, {30_000: 0.1, 60_000: 0.1, 90_000: 0.1})
    raise ValueError(name)


def generated(name: str, module, total_steps: int = 100_000):
    if name == "warmup_cosine":
        return module.warmup_cosine(total_steps=total_steps)
    return getattr(module, name)()


class CompileCounter:
    """Counts XLA compilations, from JAX's monitoring events."""

    EVENT = "/jax/core/compile/backend_compile_duration"

    def __init__(self) -> None:
        import jax

        self.count = 0

        def listener(event: str, duration: float, **kwargs: object) -> None:
            if event == self.EVENT:
                self.count += 1

        jax.monitoring.register_event_duration_secs_listener(listener)


def make_trainer(schedule, features: int, batch: int):
    """A jitted adamw train step over a fixed batch, and a runner of n steps."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax

    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((batch, features), dtype=np.float32))
    y = jnp.asarray(rng.standard_normal((batch, 1), dtype=np.float32))
    keys = jax.random.split(jax.random.PRNGKey(0), 2)
    params = {
        "w1": jax.random.normal(keys[0], (features, 64)) * 0.1,
        "w2": jax.random.normal(keys[1], (64, 1)) * 0.1,
    }
    optimizer = optax.adamw(learning_rate=schedule)

    def loss(p):
        return jnp.mean((jnp.tanh(x @ p["w1"]) @ p["w2"] - y) ** 2)

    @jax.jit
    def step(p, state):
        grads = jax.grad(loss)(p)
        updates, state = optimizer.update(grads, state, p)
        return optax.apply_updates(p, updates), state

    @partial(jax.jit, static_argnums=2)
    def steps(p, state, n: int):
        return jax.lax.fori_loop(0, n, lambda _, carry: step(*carry), (p, state))

    carry = [params, optimizer.init(params)]

    def run(n: int, *, in_xla: bool = False):
        """n train steps: one jitted call each, or (``in_xla``) one call looping in XLA."""

        def block():
            p, s = carry
            if in_xla:
                p, s = steps(p, s, n)
            else:
                for _ in range(n):
                    p, s = step(p, s)
            jax.block_until_ready(p)
            carry[0], carry[1] = p, s

        return block

    return step, run


def _evaluate_all(fn, counts):
    """One timed call: ``fn`` over every count, until the result is ready."""
    import jax

    return lambda: jax.block_until_ready(fn(counts))


def main(argv: list[str] | None = None) -> int:
    args = C.parser(__doc__.splitlines()[0]).parse_args(argv)
    n_steps, repeats, more = (20, 3, 50) if args.quick else (1000, 21, 1000)
    xla_n = 10_000 if args.quick else 1_000_000
    os.environ.setdefault("JAX_PLATFORMS", "cpu")

    import jax
    import jax.numpy as jnp
    import numpy as np

    import lrgen

    counter = CompileCounter()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "optax_bench.yaml"
        spec.write_text(SPEC_TEXT, encoding="utf-8")
        module = C.import_path(C.lrgen_build(spec, Path(tmp), "optax"), "bench_optax_schedule")
        loaded = lrgen.load(spec)
        for name in CASES[:2] if args.quick else CASES:
            schedules = {"generated": generated(name, module), "builtin": builtin(name)}
            counts = jnp.arange(xla_n, dtype=jnp.int32)
            # float32 error of each side against the reference (float64), over 100,000 steps
            checked = np.arange(100_000)
            ref = lrgen.evaluate(loaded.schedules[name], checked)
            error = {
                side: float(
                    np.max(
                        np.abs(np.asarray(jax.vmap(s)(jnp.asarray(checked, jnp.int32))) - ref) / ref
                    )
                )
                for side, s in schedules.items()
            }
            trainers = {side: make_trainer(s, 32, 64) for side, s in schedules.items()}
            for _, run in trainers.values():  # warm-up: trace and compile
                run(2)()
                run(n_steps, in_xla=True)()
            # n_steps train steps in one XLA loop: no Python dispatch between steps
            times = C.interleaved(
                {side: run(n_steps, in_xla=True) for side, (_, run) in trainers.items()}, repeats
            )
            before = counter.count
            for _, run in trainers.values():
                run(more)()
            recompiles = counter.count - before
            cache = {side: step._cache_size() for side, (step, _) in trainers.items()}
            # the schedule alone in XLA: one jitted vmap over xla_n counts
            alone = {
                side: _evaluate_all(jax.jit(jax.vmap(s)), counts) for side, s in schedules.items()
            }
            xla = C.interleaved(alone, repeats)
            results.append(
                {
                    "name": name,
                    "ratio": C.median_ratio(times["generated"], times["builtin"]),
                    "spread": sorted(
                        g / b for g, b in zip(times["generated"], times["builtin"], strict=True)
                    ),
                    "per_step": {s: C.median(t) / n_steps for s, t in times.items()},
                    "xla_ratio": C.median_ratio(xla["generated"], xla["builtin"]),
                    "xla_ns": {s: C.median(t) / xla_n for s, t in xla.items()},
                    "recompiles": recompiles,
                    "cache": cache,
                    "error": error,
                }
            )
        # params change: a new schedule object is a new closure, for both sides
        param_compiles = {}
        for side in ("generated", "builtin"):
            _, run = make_trainer(
                generated("warmup_cosine", module, 50_000)
                if side == "generated"
                else builtin("warmup_cosine", 50_000),
                32,
                64,
            )
            before = counter.count
            run(3)()
            param_compiles[side] = counter.count - before

    rows = [
        [
            r["name"],
            C.fmt_ns(r["per_step"]["generated"]),
            C.fmt_ns(r["per_step"]["builtin"]),
            C.fmt_ratio(r["ratio"]),
            f"{r['xla_ns']['generated']:.2f} ns / {r['xla_ns']['builtin']:.2f} ns",
            C.fmt_ratio(r["xla_ratio"]),
            str(r["recompiles"]),
            f"{r['error']['generated']:.1e} / {r['error']['builtin']:.1e}",
        ]
        for r in results
    ]
    body = (
        f"adamw on a 32-64-1 MLP, batch 64, float32; a timed block is {n_steps} train steps "
        "in one jitted `lax.fori_loop` (no Python dispatch between steps), "
        f"{repeats} interleaved repeats; the schedule alone: one jitted "
        f"`vmap` over {xla_n:,} int32 counts. Ratios are generated / built-in time (median of "
        f"per-repeat ratios). Recompiles: XLA compilations while both "
        f"sides ran {more} more steps after the warm-up, one jitted train-step call per step. "
        "Error: the largest relative difference from "
        "`lrgen.evaluate` (float64) over steps 0..99,999, in float32 (x64 off), for each side.\n\n"
        + C.table(
            [
                "schedule",
                "train step, generated",
                "train step, built-in",
                "ratio",
                "schedule alone per step (gen / built-in)",
                "ratio",
                "recompiles",
                "float32 error vs reference (gen / built-in)",
            ],
            rows,
        )
        + "\n\nA schedule with other params (`warmup_cosine(total_steps=50_000)`, and the "
        "built-in with `decay_steps=50_000`) is a new Python function: building the optimizer "
        "and running its step compiles again — "
        f"generated: {param_compiles['generated']}, built-in: {param_compiles['builtin']} "
        "compilation(s) — the same for both. To vary a schedule's params without recompiling, "
        "build one schedule per value outside the jitted code, or pass the learning rate as a "
        "traced hyperparameter (`optax.inject_hyperparams`)."
    )
    worst = max(results, key=lambda r: r["ratio"])
    summary = [
        C.Row(
            "optax train step with the generated schedule / with optax's built-in (jit)",
            "≤ 1.0x",
            f"{C.fmt_ratio(worst['ratio'])} (worst: {worst['name']}; its repeats ranged "
            f"{worst['spread'][0]:.2f}–{worst['spread'][-1]:.2f}); schedule alone in XLA: "
            + ", ".join(f"{r['name']} {C.fmt_ratio(r['xla_ratio'])}" for r in results),
            worst["ratio"] <= 1.0,
        ),
        C.Row(
            "optax train step recompiles when only the step changes",
            "0",
            ", ".join(f"{r['name']}: {r['recompiles']}" for r in results),
            all(r["recompiles"] == 0 for r in results),
        ),
    ]
    C.write_section(args.out, "optax_schedule", body, summary, quick=args.quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
