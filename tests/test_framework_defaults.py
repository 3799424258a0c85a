"""Defaults and bounds of every framework-mirrored kind, compared with the framework itself.

* Defaults: each parameter of ``torch.optim.lr_scheduler.X`` / ``keras.optimizers.schedules.X``
  (``inspect.signature``) that the registry also has gets the same default; the parameters that
  exist on one side only, or default differently, are listed here with the reason.
* Bounds: for every bound in the registry (``minimum``, ``exclusiveMinimum``, ``maximum``,
  ``exclusiveMaximum``, on a number, an integer or a list's items) a value just inside is
  accepted by lrgen's loader *and* by the framework (constructed and stepped/called a few
  times without an exception), and a value just outside is refused by lrgen's loader at the
  parameter's path. The framework refuses it too — or the bound is one of ``LOOSER`` below, where
  the framework accepts it (and divides by zero, or computes a negative or growing rate without a
  word), which docs/differences.md lists.

"Just outside/inside" is the next float (``math.nextafter``) for numbers, the next integer for
integers: ``exclusiveMinimum: 0`` is probed with 0 and 5e-324.
"""

from __future__ import annotations

import inspect
import json
import math
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lrgen.kinds import KINDS, REQUIRED, Kind, Param, Ref, T
from lrgen.loader import analyze

torch = pytest.importorskip("torch")
keras = pytest.importorskip("keras")

ROOT = Path(__file__).resolve().parents[1]
MIRRORED = [k for k in KINDS if k.origin.startswith(("torch.optim", "keras.optimizers"))]

#: Parameters only the framework has: the optimizer and torch's resume position (the generated
#: class keeps ``last_epoch``), Keras's name (the generated class keeps ``name``).
FRAMEWORK_ONLY = {"optimizer", "last_epoch", "name"}
#: Registry parameters the framework does not have: the Keras callback's metric name, and the
#: warmup lrgen adds before a plateau (docs/plateau.md; tested in tests/test_plateau_warmup.py).
REGISTRY_ONLY = {
    ("ReduceLROnPlateau", "monitor"),
    ("ReduceLROnPlateau", "warmup_steps"),
    ("ReduceLROnPlateau", "warmup_start_factor"),
}
#: Defaults that differ on purpose: (kind, param) -> the registry's default.
DEFAULT_DIFFERENCES: dict[tuple[str, str], Any] = {
    # Keras requires it; lrgen defaults it to the schedule's lr, so `lr` means the same everywhere.
    **{
        (k.name, "initial_learning_rate"): Ref("lr")
        for k in MIRRORED
        if "initial_learning_rate" in k.param_map
    },
    # null means torch's "cycle" when scale_fn is given; without scale_fn the mode decides.
    ("CyclicLR", "scale_mode"): None,
}

#: A valid configuration of each kind: the registry's required parameters (and the optional ones
#: that a bound is probed on) at ordinary values. Names are the framework's.
BASE: dict[str, dict[str, Any]] = {
    "StepLR": {"step_size": 3},
    "MultiStepLR": {"milestones": [2, 4]},
    "ConstantLR": {},
    "LinearLR": {},
    "ExponentialLR": {"gamma": 0.9},
    "PolynomialLR": {},
    "CosineAnnealingLR": {"T_max": 10},
    "CosineAnnealingWarmRestarts": {"T_0": 3},
    "CyclicLR": {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 2, "step_size_down": 3},
    "OneCycleLR": {"max_lr": 0.1, "total_steps": 10},
    "ReduceLROnPlateau": {},
    "ExponentialDecay": {"initial_learning_rate": 0.1, "decay_steps": 3, "decay_rate": 0.9},
    "PiecewiseConstantDecay": {"boundaries": [2, 4], "values": [0.1, 0.05, 0.01]},
    "PolynomialDecay": {"initial_learning_rate": 0.1, "decay_steps": 5},
    "InverseTimeDecay": {"initial_learning_rate": 0.1, "decay_steps": 3, "decay_rate": 0.5},
    "CosineDecay": {"initial_learning_rate": 0.1, "decay_steps": 5, "warmup_target": 0.2},
    "CosineDecayRestarts": {"initial_learning_rate": 0.1, "first_decay_steps": 3},
    "SequentialLR": {
        "milestones": [2],
        "schedulers": [
            {"kind": "ConstantLR", "factor": 0.5, "total_iters": 2},
            {"kind": "ExponentialLR", "gamma": 0.9},
        ],
    },
}
#: OneCycleLR's other form: epochs and steps_per_epoch instead of total_steps.
ONE_CYCLE_EPOCHS = {"max_lr": 0.1, "epochs": 2, "steps_per_epoch": 5}

#: Bounds lrgen enforces and the framework does not (it accepts the value just outside): each
#: is listed in docs/differences.md ("Parameter bounds"). (kind, param, bound keyword)
LOOSER = {
    ("StepLR", "gamma", "exclusiveMinimum"),
    ("MultiStepLR", "milestones", "minimum"),
    ("MultiStepLR", "gamma", "exclusiveMinimum"),
    ("ConstantLR", "total_iters", "minimum"),
    ("LinearLR", "total_iters", "minimum"),
    ("ExponentialLR", "gamma", "exclusiveMinimum"),
    ("PolynomialLR", "total_iters", "minimum"),
    ("CosineAnnealingLR", "eta_min", "minimum"),
    ("CosineAnnealingWarmRestarts", "eta_min", "minimum"),
    ("CyclicLR", "base_lr", "minimum"),
    ("CyclicLR", "max_lr", "minimum"),
    ("CyclicLR", "step_size_down", "minimum"),
    ("CyclicLR", "gamma", "exclusiveMinimum"),
    ("CyclicLR", "base_momentum", "minimum"),
    ("CyclicLR", "base_momentum", "maximum"),
    ("CyclicLR", "max_momentum", "minimum"),
    ("CyclicLR", "max_momentum", "maximum"),
    ("OneCycleLR", "max_lr", "exclusiveMinimum"),
    ("OneCycleLR", "pct_start", "exclusiveMinimum"),
    ("OneCycleLR", "pct_start", "exclusiveMaximum"),
    ("OneCycleLR", "base_momentum", "minimum"),
    ("OneCycleLR", "base_momentum", "maximum"),
    ("OneCycleLR", "max_momentum", "minimum"),
    ("OneCycleLR", "max_momentum", "maximum"),
    ("SequentialLR", "milestones", "minimum"),
    ("ReduceLROnPlateau", "factor", "minimum"),
    ("ReduceLROnPlateau", "patience", "minimum"),
    ("ReduceLROnPlateau", "threshold", "minimum"),
    ("ReduceLROnPlateau", "cooldown", "minimum"),
    ("ReduceLROnPlateau", "min_lr", "minimum"),
    ("ReduceLROnPlateau", "eps", "minimum"),
    ("ExponentialDecay", "initial_learning_rate", "exclusiveMinimum"),
    ("ExponentialDecay", "decay_rate", "exclusiveMinimum"),
    ("PiecewiseConstantDecay", "boundaries", "minimum"),
    ("PiecewiseConstantDecay", "values", "minimum"),
    ("PolynomialDecay", "initial_learning_rate", "exclusiveMinimum"),
    ("PolynomialDecay", "end_learning_rate", "minimum"),
    ("PolynomialDecay", "power", "minimum"),
    ("InverseTimeDecay", "initial_learning_rate", "exclusiveMinimum"),
    ("InverseTimeDecay", "decay_rate", "minimum"),
    ("CosineDecay", "initial_learning_rate", "minimum"),
    ("CosineDecay", "alpha", "minimum"),
    ("CosineDecay", "alpha", "maximum"),
    ("CosineDecay", "warmup_target", "exclusiveMinimum"),
    ("CosineDecay", "warmup_steps", "minimum"),
    ("CosineDecayRestarts", "initial_learning_rate", "exclusiveMinimum"),
    ("CosineDecayRestarts", "t_mul", "minimum"),
    ("CosineDecayRestarts", "m_mul", "minimum"),
    ("CosineDecayRestarts", "alpha", "minimum"),
    ("CosineDecayRestarts", "alpha", "maximum"),
}

#: Values inside a registry bound that the framework refuses: (kind, param, bound) -> why. Also in
#: docs/differences.md.
FRAMEWORK_REFUSES_INSIDE = {
    # torch's recurrent get_lr divides by factor at total_iters (ZeroDivisionError); lrgen's
    # closed form needs no division: lr * 0 before total_iters, lr from there on.
    ("ConstantLR", "factor", "minimum"): "ZeroDivisionError: float division by zero",
}

_BOUNDS = (
    ("minimum", "minimum"),
    ("exclusive_minimum", "exclusiveMinimum"),
    ("maximum", "maximum"),
    ("exclusive_maximum", "exclusiveMaximum"),
)


def _framework_class(kind: Kind) -> Any:
    module, _, name = kind.origin.rpartition(".")
    return getattr(
        torch.optim.lr_scheduler if module.startswith("torch") else keras.optimizers.schedules, name
    )


# --- defaults -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", MIRRORED, ids=lambda k: k.name)
def test_defaults_equal_the_framework_signature(kind: Kind) -> None:
    signature = inspect.signature(_framework_class(kind).__init__)
    framework = {n: p.default for n, p in signature.parameters.items() if n != "self"}
    registry = {p.name: p.default for p in kind.params}
    assert set(framework) - set(registry) <= FRAMEWORK_ONLY, set(framework) - set(registry)
    only_here = {(kind.name, name) for name in set(registry) - set(framework)}
    assert only_here <= REGISTRY_ONLY, only_here
    for name in set(framework) & set(registry):
        theirs, ours = framework[name], registry[name]
        if (kind.name, name) in DEFAULT_DIFFERENCES:
            assert ours == DEFAULT_DIFFERENCES[kind.name, name], (kind.name, name, ours)
            continue
        if theirs is inspect.Parameter.empty:
            assert ours is REQUIRED, f"{kind.name}.{name}: required in the framework"
        else:
            assert ours is not REQUIRED and not isinstance(ours, Ref), f"{kind.name}.{name}"
            assert ours == theirs and type(ours) in (type(theirs), float), (
                f"{kind.name}.{name}: lrgen {ours!r}, framework {theirs!r}"
            )


def test_default_differences_are_real() -> None:
    """Each listed difference is a parameter both sides have (the list does not go stale)."""
    by_name = {k.name: k for k in MIRRORED}
    for kind_name, name in DEFAULT_DIFFERENCES:
        kind = by_name[kind_name]
        assert name in kind.param_map
        assert name in inspect.signature(_framework_class(kind).__init__).parameters


# --- bounds -------------------------------------------------------------------------------------


def _probes(kind: Kind) -> list[tuple[Param, str, Any, Any]]:
    """(param, bound keyword, value just inside, value just outside) for each registry bound."""
    found = []
    for param in kind.params:
        if (kind.name, param.name) in REGISTRY_ONLY:
            continue  # nothing in the framework to compare with
        integer = param.type in (T.INTEGER, T.INT_LIST)
        for attr, keyword in _BOUNDS:
            limit = getattr(param, attr)
            if limit is None:
                continue
            down = -1 if "minimum" in attr.lower() else 1
            if integer:
                edge = int(limit) if attr in ("minimum", "maximum") else int(limit) - down
                inside, outside = edge, edge + down
            else:
                toward = -math.inf if down < 0 else math.inf
                if attr in ("minimum", "maximum"):
                    inside, outside = float(limit), math.nextafter(float(limit), toward)
                else:
                    inside, outside = math.nextafter(float(limit), -toward), float(limit)
            found.append((param, keyword, inside, outside))
    return found


PROBES = [(k, *probe) for k in MIRRORED for probe in _probes(k)]
PROBE_IDS = [f"{k.name}.{p.name}.{kw}" for k, p, kw, _, _ in PROBES]


def _arguments(kind: Kind, param: Param, value: Any) -> dict[str, Any]:
    if kind.name == "OneCycleLR" and param.name in ("epochs", "steps_per_epoch"):
        args = dict(ONE_CYCLE_EPOCHS)
    else:
        args = dict(BASE[kind.name])
    if param.type in (T.INT_LIST, T.NUMBER_LIST):
        items = list(args[param.name])
        items[0] = value
        # Keep the list strictly increasing where the registry asks for it.
        if param.type is T.INT_LIST:
            items = [items[0], *(max(v, items[0] + 1 + i) for i, v in enumerate(items[1:]))]
        args[param.name] = items
    else:
        args[param.name] = value
    return args


def _lrgen_problems(kind: Kind, args: dict[str, Any]) -> list[str]:
    node = {"kind": kind.name, **args}
    spec = {"lrgen": 1, "schedules": {"s": {"lr": 0.1, "schedule": node}}}
    _, problems = analyze(json.dumps(spec), "probe.json")
    return [f"{p.path}: {p.message}" for p in problems if p.severity == "error"]


def _run_torch(kind: Kind, args: dict[str, Any]) -> None:
    """Construct torch's scheduler and step it: 5 times, or up to its end (OneCycleLR raises
    past ``total_steps``, a documented difference)."""
    cls = _framework_class(kind)
    weight = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([weight], lr=0.1, momentum=0.9)
    steps = 5
    if kind.name == "OneCycleLR":
        total = args.get("total_steps") or args["epochs"] * args["steps_per_epoch"]
        steps = min(steps, max(total - 1, 0))
    if kind.name == "SequentialLR":
        children = [
            getattr(torch.optim.lr_scheduler, child["kind"])(
                optimizer, **{k: v for k, v in child.items() if k != "kind"}
            )
            for child in args["schedulers"]
        ]
        args = {**args, "schedulers": children}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler = cls(optimizer, **args)
        for _ in range(steps):
            optimizer.step()
            if kind.metric_driven:
                scheduler.step(1.0)
            else:
                scheduler.step()


def _run_keras(kind: Kind, args: dict[str, Any]) -> None:
    schedule = _framework_class(kind)(**args)
    for step in range(8):
        keras.ops.convert_to_numpy(schedule(step))


def _framework_accepts(kind: Kind, args: dict[str, Any]) -> tuple[bool, str]:
    run: Callable[[Kind, dict[str, Any]], None] = (
        _run_torch if kind.family == "torch" else _run_keras
    )
    try:
        run(kind, args)
    except Exception as error:
        return False, f"{type(error).__name__}: {error}"
    return True, ""


@pytest.mark.parametrize(("kind", "param", "keyword", "inside", "outside"), PROBES, ids=PROBE_IDS)
def test_bound_against_the_framework(
    kind: Kind, param: Param, keyword: str, inside: Any, outside: Any
) -> None:
    args_in = _arguments(kind, param, inside)
    assert _lrgen_problems(kind, args_in) == [], (kind.name, args_in)
    accepted, why = _framework_accepts(kind, args_in)
    if (kind.name, param.name, keyword) in FRAMEWORK_REFUSES_INSIDE:
        assert (accepted, why) == (False, FRAMEWORK_REFUSES_INSIDE[kind.name, param.name, keyword])
    else:
        assert accepted, f"{kind.origin} refuses {param.name}={inside!r}, lrgen accepts it: {why}"

    args_out = _arguments(kind, param, outside)
    problems = _lrgen_problems(kind, args_out)
    where = f"schedules.s.schedule.{param.name}"
    assert problems and all(p.startswith(where) for p in problems), (args_out, problems)
    accepted, why = _framework_accepts(kind, args_out)
    if (kind.name, param.name, keyword) in LOOSER:
        assert accepted, (
            f"{kind.origin} now refuses {param.name}={outside!r} ({why}): drop it from LOOSER"
        )
    else:
        assert not accepted, (
            f"{kind.origin} accepts {param.name}={outside!r}, which lrgen refuses "
            f"({problems[0]}): list it in LOOSER and docs/differences.md"
        )


def test_looser_bounds_are_probed_and_documented() -> None:
    """Every LOOSER entry is a registry bound of a mirrored kind, and docs/differences.md names
    it (as ``Kind.param``) in its parameter-bounds table."""
    probed = {(k.name, p.name, kw) for k, p, kw, _, _ in PROBES}
    assert probed >= LOOSER, LOOSER - probed
    text = (ROOT / "docs" / "differences.md").read_text()
    section = text[text.index("Parameter bounds: stricter than the frameworks") :]
    table = section[: section.index("\n## ")] if "\n## " in section else section
    for kind_name, name, keyword in sorted(LOOSER):
        row = re.search(rf"^\| `{kind_name}` \| (.*)$", table, re.M)
        assert row and f"`{name}`" in row[1], f"{kind_name}.{name} ({keyword}) not in the table"


def test_framework_refusals_are_the_ones_expected() -> None:
    """Spot checks that the probe can see a refusal: torch's own validation."""
    by_name = {k.name: k for k in MIRRORED}
    plateau = by_name["ReduceLROnPlateau"]
    assert _framework_accepts(plateau, {"factor": 1.0}) == (
        False,
        "ValueError: Factor should be < 1.0.",
    )
    linear = by_name["LinearLR"]
    accepted, why = _framework_accepts(linear, {"start_factor": 0.0})
    assert not accepted and why.startswith("ValueError: Starting multiplicative factor"), why
    assert _framework_accepts(linear, {"start_factor": 0.5}) == (True, "")
