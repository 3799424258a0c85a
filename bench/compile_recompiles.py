"""``torch.compile``: does a schedule driving a tensor LR make the compiled optimizer recompile?

A small model (Linear 32 -> 64 -> 1) trains with SGD (momentum 0.9) whose learning rate is a
0-dim tensor; the optimizer step is a ``torch.compile``d function (``opt.step()`` inside), the
scheduler steps outside it, as in PyTorch's "compiled optimizer with a tensor LR" recipe. After
a warm-up (the first steps compile: the momentum buffers appear at step 2), the script counts
the graphs compiled over the next N steps: a compile counter around the backend, dynamo's own
``unique_graphs`` counter, and dynamo's recompile log (``torch._logging`` artifact
``recompiles``), whose reasons are reported.

Cases: the generated class (bench/specs/builtin_equivalents.yaml) against the torch built-in,
for SequentialLR(LinearLR, CosineAnnealingLR) and OneCycleLR, all with a tensor lr; the
generated tensor function (``warmup_cosine_tensor``) evaluated inside the compiled step on a
step-counter tensor; and a control with a float lr and dynamo's ``specialize_float`` on, which
shows what a recompile looks like to the counters.

    python bench/compile_recompiles.py [--quick] [--out docs/performance.md]
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C

SPEC = Path(__file__).resolve().parent / "specs" / "builtin_equivalents.yaml"
LR = 0.1
WARMUP = 5
#: A float lr with dynamo's ``specialize_float`` on: every new value is a new constant, so
#: this case must recompile; it shows that the counters see recompiles.
#: The generated tensor function evaluated inside the compiled step, on a step-counter tensor.
IN_GRAPH = "generated warmup_cosine_tensor() inside the compiled step"
CONTROL = "control: generated SequentialLR, float lr, specialize_float=True"


class RecompileLog(logging.Handler):
    """Collects dynamo's recompile messages (the ``recompiles`` logging artifact)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "recompiles" in record.name:
            self.messages.append(record.getMessage())


def make_scheduler(case: str, opt, module, total_steps: int):
    from torch.optim import lr_scheduler as L

    if case.endswith("SequentialLR") and not case.startswith("built-in"):
        return module.WarmupCosine(opt)
    if case == "built-in SequentialLR":
        warm = L.LinearLR(opt, start_factor=0.01, end_factor=1.0, total_iters=1000)
        cos = L.CosineAnnealingLR(opt, T_max=1_000_000 - 1000, eta_min=1e-5)
        return L.SequentialLR(opt, [warm, cos], milestones=[1000])
    if case.endswith("OneCycleLR") and not case.startswith("built-in"):
        return module.OneCycle(opt, total_steps=total_steps)
    if case == "built-in OneCycleLR":
        return L.OneCycleLR(opt, max_lr=LR, total_steps=total_steps)
    if case == CONTROL:
        return module.WarmupCosine(opt)
    if case == IN_GRAPH:
        return None
    raise ValueError(case)


def run_case(case: str, module, backend: str, steps: int, log: RecompileLog) -> dict:
    import torch
    import torch._dynamo
    from torch._dynamo.testing import CompileCounterWithBackend
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))
    tensor_lr = case != CONTROL
    lr = torch.tensor(LR) if tensor_lr else LR
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    scheduler = make_scheduler(case, opt, module, total_steps=WARMUP + steps + 10)
    counter = CompileCounterWithBackend(backend)

    step_t = torch.zeros((), dtype=torch.int64)
    lr_of = module.warmup_cosine_tensor

    @torch.compile(backend=counter)
    def optimizer_step() -> None:
        if scheduler is None:  # the schedule is part of the graph
            opt.param_groups[0]["lr"].copy_(lr_of(step_t))
            step_t.add_(1)
        opt.step()

    x, y = torch.randn(256, 32), torch.randn(256, 1)

    def train_step() -> None:
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer_step()
        opt.zero_grad(set_to_none=False)
        if scheduler is not None:
            scheduler.step()

    with torch._dynamo.config.patch(specialize_float=not tensor_lr):
        start = time.perf_counter_ns()
        for _ in range(WARMUP):
            train_step()
        warm_ns = time.perf_counter_ns() - start
        frames = counter.frame_count
        graphs = counters["stats"]["unique_graphs"]
        logged = len(log.messages)
        lrs = set()
        start = time.perf_counter_ns()
        for _ in range(steps):
            train_step()
            lrs.add(float(opt.param_groups[0]["lr"]))
        step_ns = (time.perf_counter_ns() - start) / steps
    return {
        "case": case,
        "lr": "tensor" if tensor_lr else "float",
        "warmup_graphs": frames,
        "recompiles": counter.frame_count - frames,
        "unique_graphs": counters["stats"]["unique_graphs"] - graphs,
        "reasons": log.messages[logged:],
        "distinct_lrs": len(lrs),
        "warm_s": warm_ns / 1e9,
        "step_ns": step_ns,
    }


def main(argv: list[str] | None = None) -> int:
    p = C.parser(__doc__.splitlines()[0])
    C.add_candidate_arguments(p)
    args = p.parse_args(argv)
    # --quick: the eager backend (guards and recompiles are dynamo's, whatever the backend)
    backend, steps = ("eager", 20) if args.quick else ("inductor", 1000)
    warnings.filterwarnings("ignore", message=".*cache_size_limit.*")

    import torch
    import torch._logging

    torch.set_num_threads(1)
    torch._logging.set_logs(recompiles=True)
    log = RecompileLog()
    # torch's own loggers do not propagate to "torch": listen on the artifact logger itself
    names = {"torch._dynamo.guards.__recompiles"}
    names |= {n for n in logging.root.manager.loggerDict if n.endswith("__recompiles")}
    for name in names:
        logging.getLogger(name).addHandler(log)
    cases = [
        "generated SequentialLR",
        "built-in SequentialLR",
        "generated OneCycleLR",
        "built-in OneCycleLR",
        IN_GRAPH,
        CONTROL,
    ]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        module = C.import_path(C.lrgen_build(SPEC, Path(tmp), "torch"), "bench_compile_torch")
        modules = dict.fromkeys(cases, module)
        if args.candidate is not None:  # the generated classes again, from the candidate's build
            path = C.lrgen_build(SPEC, Path(tmp) / "c", "torch", lrgen_root=args.candidate)
            candidate = C.import_path(path, "bench_compile_candidate_torch")
            for case in ("candidate SequentialLR", "candidate OneCycleLR"):
                cases.append(case)
                modules[case] = candidate
        for case in cases:
            r = run_case(case, modules[case], backend, steps, log)
            results.append(r)
            print(
                f"{case:45} warm-up graphs {r['warmup_graphs']}  recompiles {r['recompiles']}"
                f"  unique_graphs +{r['unique_graphs']}  recompile log {len(r['reasons'])}"
                f"  distinct lrs {r['distinct_lrs']}  {C.fmt_ns(r['step_ns'])}/step",
                flush=True,
            )
    write_report(args, results, backend, steps)
    return 0


def _reason(messages: list[str]) -> str:
    if not messages:
        return "—"
    first = " ".join(messages[0].split())
    first = first.replace("|", "\\|")
    return (first[:160] + "…" if len(first) > 160 else first) + (
        f" (+{len(messages) - 1} more)" if len(messages) > 1 else ""
    )


def write_report(args, results: list[dict], backend: str, steps: int) -> None:
    rows = []
    for r in results:
        control = r["case"] == CONTROL
        ok = r["recompiles"] == 0 and r["unique_graphs"] == 0 and not r["reasons"]
        rows.append(
            [
                r["case"],
                r["lr"],
                r["warmup_graphs"],
                f"**{r['recompiles']}**",
                r["unique_graphs"],
                len(r["reasons"]),
                r["distinct_lrs"],
                C.fmt_ns(r["step_ns"]),
                _reason(r["reasons"]),
                "(control)" if control else C.met(ok),
            ]
        )
    body = (
        f"Backend `{backend}`, {WARMUP} warm-up steps, then {steps} counted steps; "
        "`torch.set_num_threads(1)`. *recompiles*: graphs compiled after warm-up "
        "(`CompileCounterWithBackend`); *unique_graphs*: dynamo's `counters['stats']` over the "
        "same steps; *log*: messages of the `recompiles` logging artifact; *distinct lrs*: "
        "learning rates seen (the schedule really moved)."
        + C.candidate_text(args)
        + "\n\n"
        + C.table(
            [
                "case",
                "lr",
                "warm-up graphs",
                "recompiles",
                "unique_graphs",
                "log",
                "distinct lrs",
                "time / train step",
                "first recompile reason",
                "goal: 0",
            ],
            rows,
        )
    )
    generated = [r for r in results if r["case"].startswith(("generated", "candidate"))]
    total = sum(r["recompiles"] + r["unique_graphs"] + len(r["reasons"]) for r in generated)
    summary = [
        C.Row(
            f"recompiles of a compiled `opt.step()`, tensor lr, {steps} steps after warm-up",
            "0",
            ", ".join(f"{r['case']}: {r['recompiles']}" for r in generated),
            total == 0,
        )
    ]
    C.write_section(args.out, "compile_recompiles", body, summary, quick=args.quick)


if __name__ == "__main__":
    sys.exit(main())
