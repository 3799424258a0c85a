"""Keras ``model.fit`` with ``jit_compile=True``: a generated schedule vs the Keras built-in.

A Dense 64-64-1 regression model on synthetic data (10,000 rows of 32 features, batch 64, 3
epochs per ``fit``; SGD with momentum 0.9) is trained with the learning rate given by a
generated ``LearningRateSchedule`` (``bench/specs/keras_equivalents.yaml``) and by the
equivalent Keras built-in: ``CosineDecay`` with warmup, and ``ExponentialDecay`` with
``staircase=True``. The four models are compiled and fitted once (the warm-up: tracing and XLA
compilation), then fitted again in interleaved repeats; steps/second is the number of
optimizer steps of one ``fit`` over its wall time, and the result is the median over repeats of
the per-repeat ratio generated / built-in.

Retracing: the model's ``train_step`` counts its own calls. Its Python body runs only while
``tf.function`` traces it, so the count is the number of traces; after the warm-up it must not
grow.

    python bench/keras_fit.py [--quick] [--out docs/performance.md]
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C

SPEC = Path(__file__).resolve().parent / "specs" / "keras_equivalents.yaml"
TRACES: Counter[str] = Counter()


def builtin(name: str):
    import keras

    if name == "CosineDecay (warmup)":
        return keras.optimizers.schedules.CosineDecay(
            1e-4, decay_steps=400, alpha=0.0, warmup_target=0.01, warmup_steps=100
        )
    if name == "ExponentialDecay (staircase)":
        return keras.optimizers.schedules.ExponentialDecay(
            0.01, decay_steps=100, decay_rate=0.5, staircase=True
        )
    raise ValueError(name)


def generated(name: str, module):
    if name == "CosineDecay (warmup)":
        return module.CosineWarmup()
    if name == "ExponentialDecay (staircase)":
        return module.ExponentialStaircase()
    raise ValueError(name)


def xla_loop(schedule, n: int):
    """A ``jit_compile`` function summing ``schedule(i)`` for i < n in one XLA while loop: the
    schedule's own cost per step, without the model or the dispatch of ``fit``."""
    import tensorflow as tf

    @tf.function(jit_compile=True)
    def total(limit):
        def body(i, acc):
            return i + 1, acc + tf.cast(schedule(i), tf.float32)

        return tf.while_loop(lambda i, acc: i < limit, body, (tf.constant(0), tf.constant(0.0)))

    limit = tf.constant(n)
    total(limit)  # trace and compile
    return lambda: total(limit)[1].numpy()


def make_model(tag: str, schedule, features: int):
    import keras

    class Counted(keras.Sequential):
        def train_step(self, data):
            TRACES[tag] += 1  # runs only when tf.function traces this method
            return super().train_step(data)

    keras.utils.set_random_seed(0)
    model = Counted(
        [
            keras.Input((features,)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(1),
        ]
    )
    optimizer = keras.optimizers.SGD(learning_rate=schedule, momentum=0.9)
    model.compile(optimizer=optimizer, loss="mse", jit_compile=True)
    return model


def main(argv: list[str] | None = None) -> int:
    args = C.parser(__doc__.splitlines()[0]).parse_args(argv)
    rows_n, epochs, repeats = (640, 1, 2) if args.quick else (10_000, 3, 11)
    xla_n = 1000 if args.quick else 100_000
    batch, features = 64, 32
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    import keras
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.standard_normal((rows_n, features), dtype=np.float32)
    y = (x @ rng.standard_normal((features, 1), dtype=np.float32)).astype(np.float32)
    steps_per_fit = epochs * -(-rows_n // batch)

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        module = C.import_path(C.lrgen_build(SPEC, Path(tmp), "keras"), "bench_keras_fit_keras")
        names = ["CosineDecay (warmup)", "ExponentialDecay (staircase)"]
        for name in names[:1] if args.quick else names:
            schedules = {"generated": generated(name, module), "builtin": builtin(name)}
            models = {
                side: make_model(f"{name}/{side}", schedule, features)
                for side, schedule in schedules.items()
            }

            def fit(model):
                return lambda: model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0)

            warm = {}
            for side, model in models.items():  # warm-up: trace and compile
                warm[side] = C.timed_ns(fit(model)) / 1e9
            traced = {side: TRACES[f"{name}/{side}"] for side in models}
            times = C.interleaved({side: fit(m) for side, m in models.items()}, repeats, warmup=0)
            retraces = {side: TRACES[f"{name}/{side}"] - traced[side] for side in models}
            lrs = {
                side: float(keras.ops.convert_to_numpy(m.optimizer.learning_rate))
                for side, m in models.items()
            }
            # the two schedules over every step the fits went through (float32, eager)
            seen = np.arange(int(models["builtin"].optimizer.iterations.numpy()) + 1)
            curves = {  # one call per step: Keras's CosineDecay takes a scalar step only
                side: np.array([float(schedule(int(t))) for t in seen])
                for side, schedule in schedules.items()
            }
            peak = float(np.max(np.abs(curves["builtin"])))
            sps = {side: steps_per_fit / (C.median(t) / 1e9) for side, t in times.items()}
            ratio = C.median_ratio(times["builtin"], times["generated"])  # speed gen / builtin
            per_repeat = sorted(
                b / g for b, g in zip(times["builtin"], times["generated"], strict=True)
            )
            loops = {side: xla_loop(schedule, xla_n) for side, schedule in schedules.items()}
            xla = C.interleaved(loops, repeats)
            r = {
                "name": name,
                "sps": sps,
                "ratio": ratio,
                "traces": traced,
                "retraces": retraces,
                "warm_s": warm,
                "lrs": lrs,
                "agree": bool(
                    np.allclose(curves["generated"], curves["builtin"], rtol=1e-5, atol=1e-7 * peak)
                ),
                "seen": int(seen.size),
                "spread": (per_repeat[0], per_repeat[-1]),
                "xla_ns": {side: C.median(t) / xla_n for side, t in xla.items()},
                "xla_ratio": C.median_ratio(xla["generated"], xla["builtin"]),
            }
            results.append(r)
            print(
                f"{name:30} steps/s generated {sps['generated']:.0f} builtin {sps['builtin']:.0f}"
                f"  speed ratio {ratio:.3f}  traces {traced}  retraces {retraces}  lrs {lrs}",
                flush=True,
            )
    write_report(args, results, rows_n, epochs, batch, repeats, steps_per_fit, xla_n)
    return 0


def write_report(args, results, rows_n, epochs, batch, repeats, steps_per_fit, xla_n) -> None:
    import keras

    rows = []
    for r in results:
        ok = r["ratio"] >= 1.0 and r["retraces"]["generated"] == 0
        ok = ok and r["traces"]["generated"] <= r["traces"]["builtin"]
        rows.append(
            [
                r["name"],
                f"{r['sps']['generated']:.0f}",
                f"{r['sps']['builtin']:.0f}",
                f"**{r['ratio']:.3f}x**",
                f"{r['spread'][0]:.2f}–{r['spread'][1]:.2f}",
                f"{r['traces']['generated']} / {r['traces']['builtin']}",
                f"{r['retraces']['generated']} / {r['retraces']['builtin']}",
                f"{r['warm_s']['generated']:.1f} s / {r['warm_s']['builtin']:.1f} s",
                "yes" if r["agree"] else f"NO {r['lrs']}",
                C.met(ok),
            ]
        )
    body = (
        f"Keras {keras.__version__}, backend `{keras.backend.backend()}`. {rows_n} rows × 32 "
        f"features, batch {batch}, {epochs} epoch(s) per `fit` ({steps_per_fit} optimizer "
        f"steps), SGD momentum 0.9, `jit_compile=True`; {repeats} interleaved repeats after one "
        "warm-up `fit` per model. *speed ratio*: median over repeats of built-in time / "
        "generated time (above 1: the generated schedule is faster). *traces*: how many times "
        "`train_step` was traced in the warm-up `fit` (the last, smaller batch of an epoch "
        "traces once more); *retraces*: traces during the timed repeats. *agree*: the two "
        "schedules, called on every step the fits went through, match in float32 (rtol 1e-5)."
        "\n\n"
        + C.table(
            [
                "schedule",
                "generated steps/s",
                "built-in steps/s",
                "speed ratio",
                "range over repeats",
                "traces (gen / built-in)",
                "retraces (gen / built-in)",
                "warm-up fit (gen / built-in)",
                "agree",
                "goal: ratio ≥ 1, no retracing",
            ],
            rows,
        )
        + "\n\nThe schedule alone, inside XLA: a `jit_compile=True` function sums "
        f"`schedule(i)` for i < {xla_n:,} in one `tf.while_loop` (median of {repeats} "
        "interleaved repeats), i.e. the schedule's own cost per training step without the "
        "model, whose cost hides it in `fit`.\n\n"
        + C.table(
            ["schedule", "generated", "built-in", "generated / built-in (time)"],
            [
                [
                    r["name"],
                    f"{r['xla_ns']['generated']:.1f} ns/step",
                    f"{r['xla_ns']['builtin']:.1f} ns/step",
                    f"**{r['xla_ratio']:.2f}x**",
                ]
                for r in results
            ],
        )
    )
    worst = min(results, key=lambda r: r["ratio"])
    summary = [
        C.Row(
            "Keras `fit` steps/s, generated / built-in (jit_compile)",
            "≥ 1.00x",
            f"{worst['ratio']:.3f}x (worst: {worst['name']}; its repeats ranged "
            f"{worst['spread'][0]:.2f}–{worst['spread'][1]:.2f}); schedule alone in XLA: "
            + ", ".join(f"{r['xla_ratio']:.2f}x" for r in results)
            + " of the built-in's time",
            all(r["ratio"] >= 1.0 for r in results),
        ),
        C.Row(
            "Keras `fit` retraces after warm-up (generated)",
            "0, traces ≤ built-in's",
            ", ".join(
                f"{r['name']}: {r['retraces']['generated']} "
                f"(traces {r['traces']['generated']} vs {r['traces']['builtin']})"
                for r in results
            ),
            all(
                r["retraces"]["generated"] == 0
                and r["traces"]["generated"] <= r["traces"]["builtin"]
                for r in results
            ),
        ),
    ]
    C.write_section(args.out, "keras_fit", body, summary, quick=args.quick)


if __name__ == "__main__":
    sys.exit(main())
