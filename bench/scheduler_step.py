"""``scheduler.step()``: the generated ``LRScheduler`` subclass vs the equivalent torch built-in.

For each schedule of ``bench/specs/builtin_equivalents.yaml`` (CosineAnnealingLR,
SequentialLR(LinearLR, CosineAnnealingLR), OneCycleLR, CosineAnnealingWarmRestarts), at 1, 10
and 100 param groups, with float and with tensor learning rates, three sides are timed in one
process, interleaved: the generated class, the torch built-in with the same settings, and the
floor (a loop that only sets each group's lr: ``group["lr"] = value``, or ``fill_`` for a
tensor lr). Each timed block is a run of consecutive ``step()`` calls on a live scheduler;
the result is the median over repeats of the per-repeat ratio.

    python bench/scheduler_step.py [--quick] [--out docs/performance.md]
"""

from __future__ import annotations

import math
import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C

SPEC = Path(__file__).resolve().parent / "specs" / "builtin_equivalents.yaml"
LR = 0.1
KINDS = ("CosineAnnealingLR", "SequentialLR", "OneCycleLR", "CosineAnnealingWarmRestarts")
GROUPS = (1, 10, 100)


def make_optimizer(n_groups: int, tensor_lr: bool):
    import torch

    groups = [
        {
            "params": [torch.zeros(1, requires_grad=True)],
            "lr": torch.tensor(LR) if tensor_lr else LR,
        }
        for _ in range(n_groups)
    ]
    return torch.optim.SGD(groups, lr=LR, momentum=0.9)


def builtin(kind: str, opt):
    from torch.optim import lr_scheduler as L

    if kind == "CosineAnnealingLR":
        return L.CosineAnnealingLR(opt, T_max=1_000_000, eta_min=1e-5)
    if kind == "SequentialLR":
        warm = L.LinearLR(opt, start_factor=0.01, end_factor=1.0, total_iters=1000)
        cos = L.CosineAnnealingLR(opt, T_max=1_000_000 - 1000, eta_min=1e-5)
        return L.SequentialLR(opt, [warm, cos], milestones=[1000])
    if kind == "OneCycleLR":
        return L.OneCycleLR(opt, max_lr=LR, total_steps=10_000_000)
    if kind == "CosineAnnealingWarmRestarts":
        return L.CosineAnnealingWarmRestarts(opt, T_0=100, T_mult=2, eta_min=1e-5)
    raise ValueError(kind)


def generated(kind: str, opt, module):
    classes = {
        "CosineAnnealingLR": module.Cosine,
        "SequentialLR": module.WarmupCosine,
        "OneCycleLR": module.OneCycle,
        "CosineAnnealingWarmRestarts": module.Sgdr,
    }
    return classes[kind](opt)


def stepper(scheduler, n: int) -> Callable[[], None]:
    step = scheduler.step

    def run() -> None:
        for _ in range(n):
            step()

    return run


def floor(opt, n: int, tensor_lr: bool) -> Callable[[], None]:
    groups = opt.param_groups
    value = LR / 2

    def run_float() -> None:
        for _ in range(n):
            for group in groups:
                group["lr"] = value

    def run_tensor() -> None:
        for _ in range(n):
            for group in groups:
                group["lr"].fill_(value)

    return run_tensor if tensor_lr else run_float


def last_lr(scheduler) -> float:
    return float(scheduler.get_last_lr()[0])


def measure(
    modules: dict[str, object],
    kind: str,
    n_groups: int,
    tensor_lr: bool,
    repeats: int,
    target_ns: float,
) -> dict:
    """Time the generated class of each module in ``modules``, the built-in and the floor."""
    sides = [*modules, "builtin", "floor"]
    opts = {side: make_optimizer(n_groups, tensor_lr) for side in sides}
    schedulers = {side: generated(kind, opts[side], module) for side, module in modules.items()}
    schedulers["builtin"] = builtin(kind, opts["builtin"])
    for opt in opts.values():
        opt.step()  # no gradients: only marks the optimizer as stepped (torch's order check)

    def runs_for(n: int) -> dict[str, Callable[[], None]]:
        runs = {side: stepper(s, n) for side, s in schedulers.items()}
        runs["floor"] = floor(opts["floor"], n, tensor_lr)
        return runs

    steps = C.calibrate(lambda n: runs_for(n).values(), target_ns)
    times = C.interleaved(runs_for(steps), repeats)
    ref = last_lr(schedulers["builtin"])  # every scheduler took the same number of steps
    tol = 1e-5 if tensor_lr else 1e-6  # a tensor lr is float32: torch's recurrence drifts there
    agree = all(
        math.isclose(last_lr(s), ref, rel_tol=tol, abs_tol=1e-12) for s in schedulers.values()
    )
    result = {
        "ns": {side: C.median(t) / steps for side, t in times.items()},
        "builtin_vs_floor": C.median_ratio(times["builtin"], times["floor"]),
        "agree": agree,
        "steps": steps,
        "lrs": [last_lr(s) for s in schedulers.values()],
    }
    for side in modules:
        result[f"{side}_vs_builtin"] = C.median_ratio(times[side], times["builtin"])
        result[f"{side}_vs_floor"] = C.median_ratio(times[side], times["floor"])
    if "candidate" in modules:
        result["candidate_vs_generated"] = C.median_ratio(times["candidate"], times["generated"])
    return result


def main(argv: list[str] | None = None) -> int:
    p = C.parser(__doc__.splitlines()[0])
    C.add_candidate_arguments(p)
    args = p.parse_args(argv)
    repeats, target_ns = (3, 50_000) if args.quick else (61, 300_000)
    warnings.simplefilter("error")  # a torch warning from step() would be a bench bug

    import torch

    torch.set_num_threads(1)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        modules = {
            "generated": C.import_path(
                C.lrgen_build(SPEC, Path(tmp) / "installed", "torch"), "bench_generated_torch"
            )
        }
        if args.candidate is not None:
            path = C.lrgen_build(SPEC, Path(tmp) / "candidate", "torch", lrgen_root=args.candidate)
            modules["candidate"] = C.import_path(path, "bench_candidate_torch")
        for kind in KINDS:
            for tensor_lr in (False, True):
                for n_groups in GROUPS:
                    r = measure(modules, kind, n_groups, tensor_lr, repeats, target_ns)
                    r.update(kind=kind, groups=n_groups, tensor=tensor_lr)
                    results.append(r)
                    print(
                        f"{kind:28} groups={n_groups:<3} lr={'tensor' if tensor_lr else 'float':6}"
                        + "".join(f" {k} {C.fmt_ns(v):>9}" for k, v in r["ns"].items())
                        + "".join(f"  {k} {v:.2f}" for k, v in r.items() if "_vs_" in k),
                        flush=True,
                    )
    write_report(args, results, repeats, target_ns)
    return 0


def write_report(args, results: list[dict], repeats: int, target_ns: float) -> None:
    candidate = args.candidate is not None
    header = ["built-in", "groups", "lr", "steps", "generated", "built-in", "floor"]
    header += ["generated / built-in", "generated / floor", "built-in / floor"]
    if candidate:
        header += ["candidate", "candidate / built-in", "candidate / generated"]
    header += ["agree", "goal ≤ 1.00x"]
    rows = []
    for r in results:
        row = [
            r["kind"],
            r["groups"],
            "tensor" if r["tensor"] else "float",
            r["steps"],
            C.fmt_ns(r["ns"]["generated"]),
            C.fmt_ns(r["ns"]["builtin"]),
            C.fmt_ns(r["ns"]["floor"]),
            f"**{r['generated_vs_builtin']:.2f}x**",
            C.fmt_ratio(r["generated_vs_floor"]),
            C.fmt_ratio(r["builtin_vs_floor"]),
        ]
        if candidate:
            row += [
                C.fmt_ns(r["ns"]["candidate"]),
                f"**{r['candidate_vs_builtin']:.2f}x**",
                C.fmt_ratio(r["candidate_vs_generated"]),
            ]
        row += ["yes" if r["agree"] else f"NO {r['lrs']}", C.met(r["generated_vs_builtin"] <= 1.0)]
        rows.append(row)
    text = (
        "Time per `scheduler.step()` (median over repeats of a block of consecutive steps), "
        "and the median over repeats of the per-repeat ratio. *floor*: a loop that only sets "
        "`group['lr'] = value` (tensor lr: `group['lr'].fill_(value)`) for every group. The "
        "schedules are in `bench/specs/builtin_equivalents.yaml`; the optimizer is SGD with "
        "momentum 0.9 (OneCycleLR cycles it on both sides); `torch.set_num_threads(1)`. "
        f"{repeats} repeats; each block is as many consecutive steps as take the slowest side "
        f"about {target_ns / 1e3:.0f} µs (column *steps*), short enough that most blocks are "
        "not preempted on the shared machine. *agree*: every "
        "scheduler's `get_last_lr()` after the same number of steps matches the built-in's "
        "to 1e-6 relative (1e-5 for a float32 tensor lr, where the built-in's recurrence "
        "drifts)."
    )
    if candidate:
        text += C.candidate_text(args) + " Its build is timed as a fourth side, in the same "
        text += "interleaved repeats."
    summary = [_summary_row(results, "generated", "")]
    if candidate:
        summary.append(_summary_row(results, "candidate", " (candidate patch)"))
    C.write_section(
        args.out, "scheduler_step", text + "\n\n" + C.table(header, rows), summary, quick=args.quick
    )


def _summary_row(results: list[dict], side: str, note: str) -> C.Row:
    key = f"{side}_vs_builtin"
    worst = max(results, key=lambda r: r[key])
    best = min(results, key=lambda r: r[key])
    return C.Row(
        f"`step()` generated / built-in{note}, worst of {len(results)} cases",
        "≤ 1.00x everywhere",
        f"{worst[key]:.2f}x ({worst['kind']}, {worst['groups']} groups, "
        f"{'tensor' if worst['tensor'] else 'float'} lr); best {best[key]:.2f}x",
        all(r[key] <= 1.0 for r in results),
    )


if __name__ == "__main__":
    sys.exit(main())
