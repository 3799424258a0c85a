"""``lrgen.evaluate`` (the NumPy reference evaluator): throughput and peak memory.

Main case: ``warmup_cosine`` of ``spec/examples/transformer.yaml`` (SequentialLR of LinearLR
and CosineAnnealingLR) with total_steps = 10^7 and warmup_steps = 10^5, evaluated at
``np.arange(10**7)`` in float64 on one core (``OMP_NUM_THREADS=1``, set by this script when
unset). Steps/second is the median over repeats of wall-clock time (``perf_counter_ns``); the
CPU time of the thread (``thread_time_ns``) is reported beside it because the benchmark
machine is shared. Peak memory is the ``tracemalloc`` peak during one call above what was
allocated before it (the steps array), against the 80 MB float64 output. The same case on the
steps in random order shows the path for unsorted steps.

Then every kind (``bench/specs/all_kinds.yaml``) at 10^6 steps; the slowest is named.

``--candidate ROOT`` also loads ``ROOT/lrgen/reference.py`` (a proposed change) and times it
interleaved with the installed one, checking that both give bit-identical arrays.

    OMP_NUM_THREADS=1 python bench/reference_eval.py [--quick] [--candidate ROOT] [--out ...]
"""

from __future__ import annotations

import os
import sys

_OMP_PRESET = "OMP_NUM_THREADS" in os.environ
os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy is imported

import gc  # noqa: E402
import importlib.util  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C  # noqa: E402

ROOT = C.ROOT
MAIN_SPEC = ROOT / "spec" / "examples" / "transformer.yaml"
KINDS_SPEC = Path(__file__).resolve().parent / "specs" / "all_kinds.yaml"
GOAL_RATE = 30e6  # steps/second
GOAL_MEMORY = 3.0  # peak / output size


def load_candidate(root: Path):
    """``ROOT/lrgen/reference.py`` as a separate module (it shares the installed lrgen's IR)."""
    path = root / "lrgen" / "reference.py"
    spec = importlib.util.spec_from_file_location("bench_candidate_reference", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def timed(evaluate, schedule, steps, params, metrics=None) -> tuple[int, int, object]:
    """(wall ns, thread CPU ns, result) of one call, the garbage collector paused."""
    gc.disable()
    try:
        w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        out = evaluate(schedule, steps, params=params, metrics=metrics)
        return time.perf_counter_ns() - w0, time.thread_time_ns() - c0, out
    finally:
        gc.enable()


def peak_bytes(evaluate, schedule, steps, params, metrics=None) -> tuple[int, int]:
    """(tracemalloc peak above the baseline during one call, output bytes)."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        out = evaluate(schedule, steps, params=params, metrics=metrics)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return peak, out.nbytes


def compare(impls: dict, schedule, steps, params, repeats: int) -> dict:
    """Interleaved repeats of each implementation on the same steps; medians and ratios."""
    import numpy as np

    wall: dict[str, list[int]] = {k: [] for k in impls}
    cpu: dict[str, list[int]] = {k: [] for k in impls}
    outs = {}
    names = list(impls)
    for name in names:  # warm-up
        outs[name] = timed(impls[name], schedule, steps, params)[2]
    reference = outs[names[0]]
    identical = all(np.array_equal(o, reference) for o in outs.values())
    del outs
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            w, c, out = timed(impls[name], schedule, steps, params)
            del out
            wall[name].append(w)
            cpu[name].append(c)
    n = steps.size
    result = {
        "rate": {k: n / (C.median(v) / 1e9) for k, v in wall.items()},
        "cpu_rate": {k: n / (C.median(v) / 1e9) for k, v in cpu.items()},
        "identical": identical,
    }
    for k in names[1:]:
        result[f"{k}_speedup"] = C.median_ratio(wall[names[0]], wall[k])
    return result


def main(argv: list[str] | None = None) -> int:
    p = C.parser(__doc__.splitlines()[0])
    C.add_candidate_arguments(p)
    args = p.parse_args(argv)
    n_main, n_kind, repeats = (10**5, 10**4, 3) if args.quick else (10**7, 10**6, 7)

    import numpy as np

    import lrgen
    from lrgen import reference

    impls = {"installed": reference.evaluate}
    if args.candidate is not None:
        impls["candidate"] = load_candidate(args.candidate).evaluate

    schedule = lrgen.load(MAIN_SPEC).schedules["warmup_cosine"]
    params = {"total_steps": n_main, "warmup_steps": n_main // 100}
    steps = np.arange(n_main, dtype=np.int64)
    shuffled = np.random.default_rng(0).permutation(steps)
    main_rows = []
    for label, t in (("sorted (np.arange)", steps), ("shuffled", shuffled)):
        r = compare(impls, schedule, t, params, repeats)
        r["label"] = label
        r["peak"] = {k: peak_bytes(f, schedule, t, params) for k, f in impls.items()}
        main_rows.append(r)
        print(f"{label}: {r}", flush=True)

    kinds = lrgen.load(KINDS_SPEC)
    kind_steps = np.arange(n_kind, dtype=np.int64)
    metrics = np.random.default_rng(1).standard_normal(n_kind)
    kind_rows = []
    for name, s in kinds.schedules.items():
        m = metrics if s.metric_driven else None
        wall, cpu = [], []
        for f in [impls["installed"]] * (repeats + 1):
            w, c, _ = timed(f, s, kind_steps, None, m)
            wall.append(w)
            cpu.append(c)
        row = {
            "name": name,
            "kind": s.node.kind,
            "rate": n_kind / (C.median(wall[1:]) / 1e9),
            "cpu_rate": n_kind / (C.median(cpu[1:]) / 1e9),
        }
        if "candidate" in impls:
            cw = [timed(impls["candidate"], s, kind_steps, None, m)[0] for _ in range(repeats)]
            row["candidate_rate"] = n_kind / (C.median(cw) / 1e9)
        kind_rows.append(row)
        print(f"{name:28} {row['rate'] / 1e6:8.1f} M/s", flush=True)
    write_report(args, main_rows, kind_rows, n_main, n_kind, repeats)
    return 0


def write_report(args, main_rows, kind_rows, n_main, n_kind, repeats) -> None:
    candidate = args.candidate is not None
    sides = ["installed", "candidate"] if candidate else ["installed"]
    header = ["steps", "implementation", "wall-clock steps/s", "CPU-time steps/s"]
    header += ["peak memory", "peak / output"]
    if candidate:  # the candidate's columns; a run of the tree alone has nothing to put there
        header += ["speed-up vs installed", "bit-identical"]
    rows = []
    for r in main_rows:
        for side in sides:
            peak, out = r["peak"][side]
            row = [
                r["label"],
                side,
                f"**{r['rate'][side] / 1e6:.1f} M/s**",
                f"{r['cpu_rate'][side] / 1e6:.1f} M/s",
                f"{peak / 1e6:.0f} MB",
                f"{peak / out:.2f}x",
            ]
            if candidate:
                row += [
                    "—" if side == "installed" else C.fmt_ratio(r["candidate_speedup"]),
                    "—" if side == "installed" else ("yes" if r["identical"] else "**NO**"),
                ]
            rows.append(row)
    kind_rows = sorted(kind_rows, key=lambda r: r["rate"])
    k_header = ["schedule", "kind", "wall-clock steps/s", "CPU-time steps/s"]
    if candidate:
        k_header.append("candidate steps/s")
    k_rows = []
    for r in kind_rows:
        row = [r["name"], r["kind"], f"{r['rate'] / 1e6:.1f} M/s", f"{r['cpu_rate'] / 1e6:.1f} M/s"]
        if candidate:
            row.append(f"{r['candidate_rate'] / 1e6:.1f} M/s")
        k_rows.append(row)
    slowest = kind_rows[0]
    closed = [r for r in kind_rows if r["kind"] != "ReduceLROnPlateau"]
    omp = "OMP_NUM_THREADS=1" + ("" if _OMP_PRESET else " (set by the script)")
    body = "\n\n".join(
        [
            f"`warmup_cosine` of `spec/examples/transformer.yaml` with total_steps = {n_main:,}, "
            f"warmup_steps = {n_main // 100:,}, at {n_main:,} steps, float64; {omp}; median of "
            f"{repeats} interleaved repeats. *wall-clock* is the goal's measure; *CPU time* "
            "(`thread_time_ns`) is what the process itself used, which on this shared, loaded "
            "machine can be well below wall-clock. *peak memory*: `tracemalloc` peak during the "
            "call above the memory held before it (the steps array is the caller's)."
            + C.candidate_text(args)
            + (
                " Its `lrgen/reference.py` is timed interleaved with the installed one."
                if candidate
                else ""
            ),
            C.table(header, rows),
            f"Every kind at {n_kind:,} steps (`bench/specs/all_kinds.yaml`), slowest first "
            f"(median of {repeats} repeats; ReduceLROnPlateau is the metric-driven state machine, "
            "a Python loop by design). Slowest: "
            f"**{slowest['name']}** ({slowest['kind']}, {slowest['rate'] / 1e6:.2f} M/s); "
            f"slowest closed-form kind: **{closed[0]['name']}** ({closed[0]['kind']}, "
            f"{closed[0]['rate'] / 1e6:.1f} M/s).",
            C.table(k_header, k_rows),
        ]
    )
    summary = []
    for side in sides:
        sorted_row = main_rows[0]
        peak, out = sorted_row["peak"][side]
        note = " (candidate patch)" if side == "candidate" else ""
        rate = sorted_row["rate"][side]
        summary += [
            C.Row(
                f"`lrgen.evaluate` warmup+cosine, {n_main:.0e} steps, one core{note}",
                "≥ 30 M steps/s",
                f"{rate / 1e6:.1f} M/s wall-clock ({sorted_row['cpu_rate'][side] / 1e6:.1f} M/s "
                "CPU time)",
                rate >= GOAL_RATE,
            ),
            C.Row(
                f"`lrgen.evaluate` peak memory / 80 MB output{note}",
                f"≤ {GOAL_MEMORY:.0f}x",
                f"{peak / out:.2f}x ({peak / 1e6:.0f} MB)",
                peak / out <= GOAL_MEMORY,
            ),
        ]
    C.write_section(args.out, "reference_eval", body, summary, quick=args.quick)


if __name__ == "__main__":
    sys.exit(main())
