"""Generate docs/kinds.md (and docs/img/kinds/*.png) from the kinds registry.

    python docs/gen_kinds.py            # rewrite docs/kinds.md and the plots
    python docs/gen_kinds.py --check    # exit 1 if docs/kinds.md is stale (no plots drawn)

The page lists every kind of ``lrgen.kinds.KINDS`` with its parameters, defaults, constraints,
formula and notes, and a small plot of an example drawn with the reference evaluator.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from lrgen import expr as ex
from lrgen import ir
from lrgen.kinds import KINDS, REQUIRED, Kind, Ref, T

DOCS = Path(__file__).resolve().parent
IMG = DOCS / "img" / "kinds"

#: kind -> (example fields, lr, steps to draw); children are (kind, fields) pairs.
EXAMPLES: dict[str, tuple[dict[str, Any], float, int]] = {
    "StepLR": ({"step_size": 30}, 0.1, 100),
    "MultiStepLR": ({"milestones": [30, 60, 80]}, 0.1, 100),
    "ConstantLR": ({"factor": 0.5, "total_iters": 20}, 0.1, 60),
    "LinearLR": ({"start_factor": 0.1, "total_iters": 40}, 0.1, 60),
    "ExponentialLR": ({"gamma": 0.95}, 0.1, 100),
    "PolynomialLR": ({"total_iters": 80, "power": 2.0}, 0.1, 100),
    "CosineAnnealingLR": ({"T_max": 80, "eta_min": 0.001}, 0.1, 100),
    "CosineAnnealingWarmRestarts": ({"T_0": 10, "T_mult": 2}, 0.1, 150),
    "CyclicLR": (
        {"base_lr": 0.001, "max_lr": 0.01, "step_size_up": 20, "mode": "triangular2"},
        0.001,
        160,
    ),
    "OneCycleLR": ({"max_lr": 0.1, "total_steps": 100}, 0.1, 110),
    "LambdaLR": ({"lr_lambda": "0.5 ** (t / 25)"}, 0.1, 100),
    "SequentialLR": (
        {
            "milestones": [20],
            "schedulers": [
                ("LinearLR", {"start_factor": 0.05, "total_iters": 20}),
                ("CosineAnnealingLR", {"T_max": 80}),
            ],
        },
        0.1,
        100,
    ),
    "ChainedScheduler": (
        {
            "schedulers": [
                ("ConstantLR", {"factor": 0.5, "total_iters": 10}),
                ("ExponentialLR", {"gamma": 0.97}),
            ]
        },
        0.1,
        100,
    ),
    "ReduceLROnPlateau": ({"factor": 0.5, "patience": 5}, 0.1, 60),
    "ExponentialDecay": ({"decay_steps": 20, "decay_rate": 0.5, "staircase": True}, 0.1, 100),
    "PiecewiseConstantDecay": ({"boundaries": [30, 70], "values": [0.1, 0.05, 0.01]}, 0.1, 100),
    "PolynomialDecay": ({"decay_steps": 30, "end_learning_rate": 0.01, "cycle": True}, 0.1, 100),
    "InverseTimeDecay": ({"decay_steps": 10, "decay_rate": 0.5}, 0.1, 100),
    "CosineDecay": ({"decay_steps": 80, "warmup_target": 0.1, "warmup_steps": 20}, 0.01, 110),
    "CosineDecayRestarts": ({"first_decay_steps": 20, "t_mul": 1.5, "m_mul": 0.8}, 0.1, 150),
    "Constant": ({}, 0.1, 50),
    "LinearWarmup": ({"warmup_steps": 30}, 0.1, 60),
    "ExponentialWarmup": ({"warmup_steps": 30, "start_lr": 1e-4}, 0.1, 60),
    "CosineWarmup": ({"warmup_steps": 30}, 0.1, 60),
    "WarmupWithDecay": ({"warmup_steps": 10, "total_steps": 80, "min_lr": 0.005}, 0.1, 100),
    "InverseSqrt": ({"warmup_steps": 10}, 0.1, 100),
    "WarmupStableDecay": (
        {"warmup_steps": 10, "stable_steps": 40, "decay_steps": 30, "min_lr_ratio": 0.1},
        0.1,
        100,
    ),
}

_FAMILY = {"torch": "PyTorch-mirrored", "keras": "Keras-mirrored", "neutral": "Framework-neutral"}


def example_schedule(kind: Kind) -> ir.Schedule:
    fields, lr, _ = EXAMPLES[kind.name]
    built = dict(fields)
    if "schedulers" in built:
        built["schedulers"] = [ir.make_node(k, **f) for k, f in built["schedulers"]]
    node = ir.make_node(kind.name, **built)
    return ir.Schedule(kind.name.lower(), ex.Num(lr), node, "step", (), None, "", "example")


def example_curve(kind: Kind) -> tuple[np.ndarray, np.ndarray, str]:
    from lrgen.reference import evaluate

    _, _, steps = EXAMPLES[kind.name]
    schedule = example_schedule(kind)
    t = np.arange(steps)
    if kind.metric_driven:
        rng = np.random.default_rng(0)  # a loss that improves, then plateaus with noise
        metrics = np.maximum(1.0 / (1 + np.arange(steps) / 5), 0.3) + 0.01 * rng.random(steps)
        return t, evaluate(schedule, t, metrics=metrics), "metric: improving, then flat"
    return t, evaluate(schedule, t), ""


def _default(param: Any) -> str:
    if param.default is REQUIRED:
        return "required"
    if isinstance(param.default, Ref):
        return f"= `{param.default.field}`"
    if param.default is None:
        return "null"
    if isinstance(param.default, float):
        return f"`{param.default:.6g}`"
    return f"`{param.default}`"


def _type(param: Any) -> str:
    text = {
        T.NUMBER: "number or expression",
        T.INTEGER: "integer or expression",
        T.BOOLEAN: "boolean",
        T.CHOICE: " \\| ".join(f"`{c}`" for c in param.choices),
        T.STRING: "string",
        T.INT_LIST: "list of integers",
        T.NUMBER_LIST: "list of numbers",
        T.EXPR_T: "expression in `t`",
        T.EXPR_X: "expression in `x`",
        T.NODES: "list of nodes",
    }[param.type]
    return text + (" or null" if param.nullable and param.type is not T.CHOICE else "")


def render() -> str:
    lines = [
        "# Kinds reference",
        "",
        "<!-- Generated by docs/gen_kinds.py from lrgen/kinds.py; do not edit. -->",
        "",
        "Every node of a spec has a `kind`. Numbers may be [expressions](spec.md#expressions)",
        "over the schedule's `params`. `t` is the counter (steps or epochs, per `unit`); `lr` is",
        "the schedule's base learning rate. The file format, params and generated code are in",
        "[spec.md](spec.md). Plots show an example drawn by the reference evaluator.",
        "",
    ]
    for family in ("torch", "keras", "neutral"):
        kinds = [k for k in KINDS if k.family == family]
        lines += [
            f"- {_FAMILY[family]}: " + ", ".join(f"[`{k.name}`](#{k.name.lower()})" for k in kinds)
        ]
    lines.append("")
    for kind in KINDS:
        lines += [f"## {kind.name}", "", kind.summary, ""]
        if kind.origin:
            lines += [f"Mirrors `{kind.origin}`.", ""]
        lines += ["```text", f"lr(t) = {kind.formula}", "```", ""]
        if kind.params:
            lines += [
                "| parameter | type | default | constraint | meaning |",
                "| --- | --- | --- | --- | --- |",
            ]
            for p in kind.params:
                lines.append(
                    f"| `{p.name}` | {_type(p)} | {_default(p)} | "
                    f"{p.bounds_text() or '—'} | {p.doc} |"
                )
            lines.append("")
        if kind.notes:
            lines += [f"**lrgen:** {kind.notes}", ""]
        fields, lr, steps = EXAMPLES[kind.name]
        lines += [
            f"![{kind.name} example](img/kinds/{kind.name}.png)",
            "",
            f"Example: lr `{lr}`, "
            + (
                ", ".join(
                    f"{k}: {v if k != 'schedulers' else [c[0] for c in v]}"
                    for k, v in fields.items()
                )
                or "no parameters"
            )
            + f", {steps} steps.",
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


def draw() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    IMG.mkdir(parents=True, exist_ok=True)
    for kind in KINDS:
        t, lr, note = example_curve(kind)
        fig, ax = plt.subplots(figsize=(4.0, 1.8), dpi=110)
        # lr(t) holds from t to t + 1 (a step plot), and the axis starts at 0 so that a constant
        # or a small change does not look like a large one
        ax.plot(t, lr, color="#0072B2", linewidth=1.6, drawstyle="steps-post")
        ax.set_ylim(0, float(np.max(lr)) * 1.1)
        ax.set_title(kind.name + (f" ({note})" if note else ""), fontsize=9)
        ax.set_xlabel("t", fontsize=8)
        ax.set_ylabel("lr", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(IMG / f"{kind.name}.png", metadata={"Software": None})
        plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/kinds.md is stale")
    args = parser.parse_args(argv)
    text = render()
    target = DOCS / "kinds.md"
    if args.check:
        if not target.exists() or target.read_text() != text:
            print("docs/kinds.md is stale: run python docs/gen_kinds.py")
            return 1
        return 0
    target.write_text(text)
    draw()
    print(f"wrote {target} and {len(KINDS)} plots in {IMG}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
