"""Mutation testing: does the test suite notice a wrong generator, reference, loader or registry?

Each mutation is one small textual change — a constant, a boundary ``<`` for ``<=``, an
off-by-one, a dropped term, a swapped branch, a wrong default or bound, a missing check — given as
``(file, old text, new text)``; the old text occurs exactly once in its file (checked before
anything runs). For each mutation the script:

1. applies it to a COPY of the repository in a temporary directory (``git archive`` of a commit,
   HEAD by default, or ``--worktree``: the files of the working tree that git tracks or would
   track), never to the checkout itself, where others work;
2. runs the CI test command there — the README's ``LRGEN_HYPOTHESIS_PROFILE=ci python -m pytest
   -n 2 -p no:cacheprovider``, with ``-x`` (stop at the first failure) — with this interpreter
   (the project's virtualenv) and ``PYTHONPATH`` pointing at the copy;
3. records caught/survived, the first failing test, and the time.

The text checks — the checked-in ``generated/``, golden files, schema and kinds reference
compared as text, and the lint/format/type gates of tests/test_quality.py — are deselected: a
mutation that only they would notice counts as **survived**, since it changes text, not a tested
behaviour. The copy's ``lrgen`` package gets its ``templates``/``spec`` data packages inside it
(as the wheel has them), so the subprocess imports the copy and not the editable install; the
script checks that before judging anything, and refuses to judge when the unmutated copy fails.

    python bench/mutation.py                     # every mutation; hours on 2 cores
    python bench/mutation.py --only K02 R01      # some of them
    python bench/mutation.py --list              # the mutations, without running anything
    python bench/mutation.py --check             # each applies exactly once; nothing runs
    python bench/mutation.py --only R01 --tests tests/test_reference_torch.py --jobs 0
                                                 # a quick look with fewer tests (not the CI run)

Results go to ``bench/mutation_results.json`` (``--out``) as they come, and the table at the end
is the one in docs/verification.md.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The README's test command, less ``-n 2`` (``--jobs``), with ``-x``.
PYTEST = ["-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
#: Tests that compare text (checked-in build output, golden files, schema, docs) or run linters:
#: a mutation caught only by them is a survivor.
TEXT_CHECKS = (
    "tests/test_generate.py::test_generated_dir_is_current",
    "tests/test_generate.py::test_golden",
    "tests/test_schema.py::test_checked_in_schema_is_current",
    "tests/test_docs.py::test_kinds_reference_is_current",
)
IGNORED_FILES = ("tests/test_quality.py",)


@dataclass(frozen=True)
class Mutation:
    id: str
    file: str  # relative to the repository root
    old: str  # must occur exactly once in the file
    new: str
    what: str
    category: str  # what kind of fault: boundary, mode, operator, default, bound, check, ...


def _m(id: str, file: str, old: str, new: str, what: str, category: str) -> Mutation:
    return Mutation(id, file, old, new, what, category)


LOWER, PRINTERS, REFERENCE = "lrgen/lower.py", "lrgen/printers.py", "lrgen/reference.py"
EXPR, KINDS, LOADER, GENERATE = (
    "lrgen/expr.py",
    "lrgen/kinds.py",
    "lrgen/loader.py",
    "lrgen/generate.py",
)
HELPERS, TORCH_T, KERAS_T = (
    "templates/runtime_helpers.py",
    "templates/torch_module.py.jinja",
    "templates/keras_module.py.jinja",
)

MUTATIONS = (
    # --- lrgen/lower.py: the generated formulas -----------------------------------------------
    _m(
        "L01",
        LOWER,
        'return c.lr * decay(c["gamma"], t // c["step_size"])',
        'return c.lr * decay(c["gamma"], (t + 1) // c["step_size"])',
        "StepLR decays one step early",
        "off-by-one",
    ),
    _m(
        "L02",
        LOWER,
        'return c.lr * decay(c["gamma"], count_le(milestones, t))',
        'return c.lr * decay(c["gamma"], count_le(milestones, t - 1))',
        "MultiStepLR decays one step after each milestone",
        "boundary",
    ),
    _m(
        "L03",
        LOWER,
        'return where(t < c["total_iters"], c.lr * c["factor"], c.lr)',
        'return where(t <= c["total_iters"], c.lr * c["factor"], c.lr)',
        "ConstantLR `<` becomes `<=`",
        "boundary",
    ),
    _m(
        "L04",
        LOWER,
        "result = where(t < milestone, piece, result)",
        "result = where(t <= milestone, piece, result)",
        "SequentialLR hands over one step late",
        "boundary",
    ),
    _m(
        "L05",
        LOWER,
        "return take(values, count_le(boundaries, t - 1))",
        "return take(values, count_le(boundaries, t))",
        "PiecewiseConstantDecay switches at t = boundary, not after it",
        "boundary",
    ),
    _m(
        "L06",
        LOWER,
        "scale = 0.5 ** to_float(cycle - 1)",
        "scale = 0.5 ** to_float(cycle)",
        "CyclicLR triangular2 halves from the first cycle on",
        "mode",
    ),
    _m(
        "L07",
        LOWER,
        'scale = decay(c["gamma"], t)',
        'scale = decay(c["gamma"], cycle)',
        "CyclicLR exp_range scales by the cycle, not the iteration",
        "mode",
    ),
    _m(
        "L08",
        LOWER,
        'by_iterations = c["scale_mode"] == "iterations"',
        'by_iterations = c["scale_mode"] == "cycle"',
        "CyclicLR scale_fn: scale_mode cycle and iterations swapped",
        "mode",
    ),
    _m(
        "L09",
        LOWER,
        'shape = "linear" if c["anneal_strategy"] == "linear" else "cos"',
        'shape = "linear" if c["anneal_strategy"] == "cos" else "cos"',
        "OneCycleLR anneal_strategy cos and linear swapped",
        "mode",
    ),
    _m(
        "L10",
        LOWER,
        'exponent = to_float(t // steps) if c["staircase"] else to_float(t) / steps',
        'exponent = to_float(t) / steps if c["staircase"] else to_float(t) / steps',
        "ExponentialDecay staircase is continuous",
        "mode",
    ),
    _m(
        "L11",
        LOWER,
        'multiple = op("max", t // steps + where(started, 1, 0), 1)',
        'multiple = op("max", t // steps, 1)',
        "PolynomialDecay cycle: floor instead of ceil of t / decay_steps",
        "mode",
    ),
    _m(
        "L12",
        LOWER,
        "return where(clipped < warmup, ramp, decay)",
        "return where(clipped <= warmup, ramp, decay)",
        "CosineDecay warmup ends one step late",
        "boundary",
    ),
    _m(
        "L13",
        LOWER,
        'return c.lr * to_float(op("min", t, warmup)) / warmup',
        'return c.lr * to_float(op("max", t, warmup)) / warmup',
        "LinearWarmup min -> max: never holds",
        "operator",
    ),
    _m(
        "L14",
        LOWER,
        'decay = c.lr * op("sqrt", timescale / (to_float(t - warmup) + timescale))',
        'decay = c.lr * op("sqrt", timescale / (to_float(t) + timescale))',
        "InverseSqrt decays from t = 0, not from the end of the warmup",
        "dropped term",
    ),
    _m(
        "L15",
        LOWER,
        "rest = 1.0 - ratio",
        "rest = 1.0 + ratio",
        "WarmupStableDecay: wrong sign of min_lr_ratio",
        "operator",
    ),
    _m(
        "L16",
        LOWER,
        "return high - (high - low) * triangle * scale",
        "return low + (high - low) * triangle * scale",
        "CyclicLR momentum cycles with the learning rate instead of against it",
        "momentum",
    ),
    _m(
        "L17",
        LOWER,
        'values = [high, low, high, high] if c["three_phase"] else [high, low, high]',
        'values = [high, low, low, high] if c["three_phase"] else [high, low, high]',
        "OneCycleLR three-phase momentum stays low in the second phase",
        "momentum",
    ),
    _m(
        "L18",
        KINDS,
        'Rule((self.field, i), items[i], ">", items[i - 1], message)',
        'Rule((self.field, i), items[i], ">=", items[i - 1], message)',
        "every check: milestones may repeat (loader, binding and constructors share the rule)",
        "constructor check",
    ),
    _m(
        "L19",
        LOWER,
        '(">", param.exclusive_minimum),',
        '(">=", param.exclusive_minimum),',
        "constructor: a parameter equal to an exclusive minimum is accepted",
        "constructor check",
    ),
    _m(
        "L20",
        LOWER,
        "return _cosine_between(eta_min, c.lr, t0 - t % t0, t0)",
        "return _cosine_between(eta_min, c.lr, t0 - t % t0, t0 + 1)",
        "CosineAnnealingWarmRestarts (T_mult 1): cycle one step too long",
        "off-by-one",
    ),
    # --- lrgen/printers.py: one printer per target --------------------------------------------
    _m(
        "P01",
        PRINTERS,
        'return f"math.{name}({self._args(node)})"',
        "return f\"math.{ {'sin': 'cos', 'cos': 'sin'}.get(name, name) }({self._args(node)})\"",
        "sin <-> cos in the Python printer",
        "operator",
    ),
    _m(
        "P02",
        PRINTERS,
        "right = str(int(value)) if small_int else self._wrap(b, _UNARY)",
        "right = str(int(value) + 1) if small_int else self._wrap(b, _UNARY)",
        "small integer exponents printed one higher",
        "operator",
    ),
    _m(
        "P03",
        PRINTERS,
        'kw = "max" if node.op == "min" else "min"',
        'kw = "min" if node.op == "min" else "max"',
        "torch.clamp bound on the wrong side",
        "operator",
    ),
    _m(
        "P04",
        PRINTERS,
        'return f"{self._wrap(node.args[0], _ATOM)}.to(dtype)"',
        'return f"{self._wrap(node.args[0], _ATOM)}.to(torch.float32)"',
        "the torch tensor variant computes in float32 whatever dtype asks",
        "dtype",
    ),
    _m(
        "P05",
        PRINTERS,
        "device=t.device), right=True)",
        "device=t.device), right=False)",
        "torch.bucketize counts milestones < t instead of <= t",
        "boundary",
    ),
    _m(
        "P06",
        PRINTERS,
        'f"{o}.sum({o}.cast({o}.expand_dims({self._wrap(x, _WHERE + 1)}, -1) >= "',
        'f"{o}.sum({o}.cast({o}.expand_dims({self._wrap(x, _WHERE + 1)}, -1) > "',
        "Keras table search counts entries < t instead of <= t",
        "boundary",
    ),
    _m(
        "P07",
        PRINTERS,
        'fn = "floor_divide" if node.op == "//" else "mod"',
        'fn = "floor_divide" if node.op == "%" else "mod"',
        "Keras integer // and % swapped",
        "operator",
    ),
    _m(
        "P08",
        PRINTERS,
        'return f"bisect.bisect_right({self._args(node)})"',
        'return f"bisect.bisect_left({self._args(node)})"',
        "Python table search counts entries < t instead of <= t",
        "boundary",
    ),
    _m(
        "P09",
        PRINTERS,
        'return f"{self.ops}.{node.op}imum({self._args(node)})"',
        "return f\"{self.ops}.{ {'min': 'max', 'max': 'min'}[node.op] }imum({self._args(node)})\"",
        "Keras minimum <-> maximum",
        "operator",
    ),
    _m(
        "P10",
        HELPERS,
        "return math.copysign(math.ceil(x), x) if math.isfinite(x) else x",
        "return math.copysign(math.floor(x), x) if math.isfinite(x) else x",
        "Python target: the ceil helper floors",
        "operator",
    ),
    # --- templates -------------------------------------------------------------------------------
    _m(
        "T01",
        TORCH_T,
        '        """Each group\'s learning rate at step ``t``."""\n'
        "        constants = self._per_group()",
        '        """Each group\'s learning rate at step ``t``."""\n        t += 1\n'
        "        constants = self._per_group()",
        "the torch class runs one step ahead",
        "off-by-one",
    ),
    _m(
        "T02",
        TORCH_T,
        "return {{ s.at_fn }}(t, c) / c.lr",
        "return {{ s.at_fn }}(t, c) / c.lr ** 0.5",
        "the LambdaLR multiplier is divided by sqrt(lr)",
        "operator",
    ),
    _m(
        "T03",
        TORCH_T,
        'group["betas"] = (value, *group["betas"][1:])',
        'group["betas"] = (group["betas"][0], *group["betas"][1:])',
        "Adam's beta1 is never cycled",
        "momentum",
    ),
    _m(
        "T04",
        TORCH_T,
        "    if math.isfinite(lr):\n        return lr\n",
        "    if not math.isnan(lr):\n        return lr\n",
        "the torch targets let an infinite learning rate through",
        "check",
    ),
    _m(
        "T05",
        KERAS_T,
        't = ops.floor_divide(_counter("{{ s.name }}", step), self.steps_per_epoch)',
        't = ops.floor_divide(_counter("{{ s.name }}", step) + 1, self.steps_per_epoch)',
        "Keras epochs start one iteration early",
        "off-by-one",
    ),
    _m(
        "T06",
        KERAS_T,
        '            "{{ p }}": {{ p }},\n',
        '            "{{ p }}": {{ p }} * 2,\n',
        "Keras get_config (the params it keeps) doubles the params",
        "serialization",
    ),
    _m(
        "T07",
        KERAS_T,
        "if (known < 0).any():",
        "if (known < -1).any():",
        "Keras accepts step -1",
        "check",
    ),
    _m(
        "T08",
        HELPERS,
        "start, length = start + length, length * mult",
        "start, length = start + length + 1, length * mult",
        "SGDR cycle starts drift by one step per cycle",
        "off-by-one",
    ),
    _m(
        "T09",
        HELPERS,
        "peaks.append(_power(m_mul, i))",
        "peaks.append(_power(m_mul, i + 1))",
        "Keras restarts: every peak one m_mul too low",
        "off-by-one",
    ),
    _m(
        "T10",
        HELPERS,
        "return math.sqrt(x) if x >= 0 else math.nan",
        "return math.sqrt(abs(x))",
        "Python target: sqrt of a negative expression is a number, not nan",
        "operator",
    ),
    # --- lrgen/reference.py: what a spec means ---------------------------------------------------
    _m(
        "R01",
        REFERENCE,
        'passed = np.searchsorted(np.asarray(milestones, dtype=np.int64), t, side="right")',
        'passed = np.searchsorted(np.asarray(milestones, dtype=np.int64), t, side="left")',
        "reference MultiStepLR decays one step late",
        "boundary",
    ),
    _m(
        "R02",
        REFERENCE,
        'index = np.searchsorted(np.asarray(boundaries, dtype=np.int64), t, side="left")',
        'index = np.searchsorted(np.asarray(boundaries, dtype=np.int64), t, side="right")',
        "reference PiecewiseConstantDecay switches at the boundary",
        "boundary",
    ),
    _m(
        "R03",
        REFERENCE,
        "return 1 / np.power(2.0, cycle - 1, dtype=np.float64)",
        "return 1 / np.power(2.0, cycle, dtype=np.float64)",
        "reference CyclicLR triangular2 halves from the first cycle",
        "mode",
    ),
    _m(
        "R04",
        REFERENCE,
        "multiplier = np.maximum(1, -(-t // decay_steps))",
        "multiplier = np.maximum(1, t // decay_steps)",
        "reference PolynomialDecay cycle: floor instead of ceil",
        "mode",
    ),
    _m(
        "R05",
        REFERENCE,
        "return lr * np.minimum(1.0, t / warmup_steps)",
        "return lr * np.minimum(1.0, (t + 1) / warmup_steps)",
        "reference LinearWarmup one step ahead",
        "off-by-one",
    ),
    _m(
        "R06",
        REFERENCE,
        "return max_momentum - (max_momentum - base_momentum) * scale_factor * amplitude",
        "return base_momentum + (max_momentum - base_momentum) * scale_factor * amplitude",
        "reference CyclicLR momentum cycles with the learning rate",
        "momentum",
    ),
    _m(
        "R07",
        REFERENCE,
        'cuts = [0, *np.searchsorted(t, bounds, side="left").tolist(), t.size]',
        'cuts = [0, *np.searchsorted(t, bounds, side="right").tolist(), t.size]',
        "reference SequentialLR hands over one step late (sorted steps)",
        "boundary",
    ),
    _m(
        "R08",
        REFERENCE,
        "return initial_learning_rate / (1 + decay_rate * p)",
        "return initial_learning_rate / (1 + decay_rate * (p + 1))",
        "reference InverseTimeDecay one period ahead",
        "off-by-one",
    ),
    # --- lrgen/expr.py: the expression language ----------------------------------------------
    _m(
        "E01",
        EXPR,
        '"%": np.mod,',
        '"%": np.fmod,',
        "expressions: % truncates (C fmod) instead of Python's floored modulo",
        "operator",
    ),
    _m(
        "E02",
        EXPR,
        '"//": np.floor_divide,',
        '"//": np.true_divide,',
        "expressions: // is true division",
        "operator",
    ),
    _m(
        "E03",
        EXPR,
        'reduce = np.minimum if expr.func == "min" else np.maximum',
        'reduce = np.maximum if expr.func == "min" else np.minimum',
        "expressions (NumPy): min <-> max",
        "operator",
    ),
    _m(
        "E04",
        EXPR,
        'return min(args) if expr.func == "min" else max(args)',
        'return max(args) if expr.func == "min" else min(args)',
        "expressions (scalar binding): min <-> max",
        "operator",
    ),
    _m(
        "E05",
        EXPR,
        '"e": math.e',
        '"e": 2.718',
        "expressions: the constant e rounded",
        "constant",
    ),
    # --- lrgen/kinds.py: defaults and bounds ------------------------------------------------------
    _m(
        "K01",
        KINDS,
        '"Scale applied before `total_iters`.",\n                1 / 3,',
        '"Scale applied before `total_iters`.",\n                0.5,',
        "ConstantLR factor default 0.5 (torch: 1/3)",
        "default",
    ),
    _m(
        "K02",
        KINDS,
        '"Fraction of the cycle spent rising.",\n                0.3,',
        '"Fraction of the cycle spent rising.",\n                0.25,',
        "OneCycleLR pct_start default 0.25 (torch: 0.3)",
        "default",
    ),
    _m(
        "K03",
        KINDS,
        '"Growth of each period\'s length.", 2.0, minimum=1)',
        '"Growth of each period\'s length.", 1.0, minimum=1)',
        "CosineDecayRestarts t_mul default 1.0 (Keras: 2.0)",
        "default",
    ),
    _m(
        "K04",
        KINDS,
        '"new_lr = lr * factor.", 0.1, minimum=0, exclusive_maximum=1)',
        '"new_lr = lr * factor.", 0.1, minimum=0, maximum=1)',
        "ReduceLROnPlateau accepts factor 1 (torch refuses factor >= 1)",
        "bound",
    ),
    _m(
        "K05",
        KINDS,
        '"Scale at t = 0.", 1 / 3, exclusive_minimum=0, maximum=1)',
        '"Scale at t = 0.", 1 / 3, minimum=0, maximum=1)',
        "LinearLR accepts start_factor 0 (torch refuses it)",
        "bound",
    ),
    _m(
        "K06",
        KINDS,
        '"initial_lr = max_lr / div_factor.",\n                25.0,',
        '"initial_lr = max_lr / div_factor.",\n                10.0,',
        "OneCycleLR div_factor default 10 (torch: 25)",
        "default",
    ),
    _m(
        "K07",
        KINDS,
        '"Final learning rate.", 1e-4, minimum=0)',
        '"Final learning rate.", 1e-3, minimum=0)',
        "PolynomialDecay end_learning_rate default 1e-3 (Keras: 1e-4)",
        "default",
    ),
    _m(
        "K08",
        KINDS,
        '"Period of decay, in {_STEPS}.", minimum=1)',
        '"Period of decay, in {_STEPS}.", minimum=0)',
        "StepLR accepts step_size 0",
        "bound",
    ),
    # --- lrgen/loader.py: validation ----------------------------------------------------------
    # Not "repeated milestones accepted" (`not high > low` -> `not high >= low` in
    # cross_checks): lrgen.ir._cross_checks refuses them too, with the same message at the same
    # position, so that mutation cannot be caught (it survived on 2026-12-03).
    _m(
        "D01",
        LOADER,
        "    if not math.isfinite(value):\n",
        "    if math.isnan(value):\n",
        "loader: an infinite number (.inf, 1e999) is accepted",
        "check",
    ),
    _m(
        "D02",
        KINDS,
        "if have == other + self.offset:",
        "if have == other - self.offset:",
        "loader: list-length rule off by two (values vs boundaries, milestones vs schedulers)",
        "check",
    ),
    # Not "WarmupWithDecay warmup_steps == total_steps accepted" (`not low < high` -> `not low <=
    # high` in cross_checks): lrgen.ir refuses it too, same message, same place (survived).
    _m(
        "D03",
        LOADER,
        "if value is None or abs(value) > MAX_INT:",
        "if value is None or abs(value) >= MAX_INT:",
        "loader: the integer 2**53 itself is refused (the limit is inclusive)",
        "boundary",
    ),
    _m(
        "D04",
        LOADER,
        "if name in RESERVED_NAMES:",
        'if name in RESERVED_NAMES and name != "step":',
        "loader: a param may be called `step`, shadowing the counter",
        "check",
    ),
    # --- lrgen/generate.py: module assembly ---------------------------------------------------
    _m(
        "G01",
        GENERATE,
        'lines.append(f"_require({printer.expr(item.cond)}, {_assert_text(item, printer)})")',
        'lines.append(f"_require(True or {printer.expr(item.cond)}, '
        '{_assert_text(item, printer)})")',
        "constructor: cross-field checks on parameter values never fail",
        "constructor check",
    ),
    _m(
        "G02",
        GENERATE,
        'text = f"_integer({pystr(what)}, {text})"',
        'text = f"int({text})"',
        "constructor: a fractional integer field is truncated instead of refused",
        "constructor check",
    ),
    _m(
        "G03",
        "lrgen/lint.py",
        'if not KIND_MAP[node.kind].cycles_momentum or not node.arg("cycle_momentum"):',
        'if node.kind == "OneCycleLR" or not node.arg("cycle_momentum"):',
        "build/validate: no Keras momentum warning for OneCycleLR",
        "momentum",
    ),
)


# --- the copy -----------------------------------------------------------------------------------


def _git(*args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, check=True).stdout


def copy_repository(work: Path, commit: str | None) -> None:
    """The repository's files at ``commit`` (``git archive``), or the working tree's tracked and
    untracked-but-not-ignored files when ``commit`` is None, with ``lrgen/templates`` and
    ``lrgen/spec`` laid out as the wheel has them."""
    if commit is not None:
        with tarfile.open(fileobj=io.BytesIO(_git("archive", "--format=tar", commit))) as tar:
            tar.extractall(work, filter="data")
    else:
        listed = _git("ls-files", "-z", "--cached", "--others", "--exclude-standard")
        for name in filter(None, listed.decode().split("\0")):
            source = ROOT / name
            if source.is_file():
                (work / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, work / name)
    for data in ("templates", "spec"):
        shutil.rmtree(work / "lrgen" / data, ignore_errors=True)
        shutil.copytree(work / data, work / "lrgen" / data)


def targets(work: Path, file: str) -> list[Path]:
    """Where a mutation of ``file`` goes in the copy: a template also in ``lrgen/templates``,
    which is what the copy imports."""
    paths = [work / file]
    if file.startswith(("templates/", "spec/")):
        paths.append(work / "lrgen" / file)
    return paths


def env_for(work: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(work), "LRGEN_HYPOTHESIS_PROFILE": "ci"}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.pop("PYTHONSAFEPATH", None)
    env.pop("LRGEN_REGEN_GOLDEN", None)
    return env


def check_isolation(work: Path) -> None:
    """The subprocess imports the copy's package, templates and schema."""
    probe = (
        "import lrgen, lrgen.templates, lrgen.spec; "
        "print(lrgen.__file__); print(*lrgen.templates.__path__); print(*lrgen.spec.__path__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=work,
        env=env_for(work),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for path in out:
        if not Path(path).resolve().is_relative_to(work.resolve()):
            raise SystemExit(f"isolation failed: {path} is outside the copy {work}")


def problems(mutations: Sequence[Mutation], read: Callable[[str], str]) -> list[str]:
    """Mutations whose old text does not occur exactly once in ``read(file)``."""
    found = []
    for m in mutations:
        count = read(m.file).count(m.old)
        if count != 1:
            found.append(f"{m.id}: {m.old!r} occurs {count} times in {m.file}")
        elif m.old == m.new:
            found.append(f"{m.id}: the new text equals the old")
    return found


# --- running the tests --------------------------------------------------------------------------


def test_command(jobs: int, tests: list[str]) -> list[str]:
    cmd = [sys.executable, *PYTEST]
    if jobs:
        cmd += ["-n", str(jobs)]
    for node in TEXT_CHECKS:
        cmd += ["--deselect", node]
    for path in IGNORED_FILES:
        cmd += ["--ignore", path]
    return cmd + tests


def run_tests(work: Path, jobs: int, tests: list[str], timeout: int) -> tuple[bool, str, float]:
    """(passed, the first failing test, seconds)."""
    start = time.monotonic()
    try:
        proc = subprocess.run(
            test_command(jobs, tests),
            cwd=work,
            env=env_for(work),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return False, "timeout", time.monotonic() - start
    elapsed = time.monotonic() - start
    if proc.returncode == 0:
        return True, "", elapsed
    failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", proc.stdout, re.MULTILINE)
    which = failed[0] if failed else f"exit {proc.returncode}: {proc.stdout[-300:]}"
    return False, re.sub(r" - .*", "", which), elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="mutation ids to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument("--check", action="store_true", help="check they apply, and exit")
    parser.add_argument("--commit", default="HEAD", help="what to copy (default HEAD)")
    parser.add_argument("--worktree", action="store_true", help="copy the working tree instead")
    parser.add_argument("--jobs", type=int, default=2, help="pytest -n (0: no xdist); CI: 2")
    parser.add_argument("--tests", nargs="*", default=[], help="test paths (default: all)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the unmutated run")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per test run")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "mutation_results.json")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTATIONS if not args.only or m.id in args.only]
    if args.list:
        for m in chosen:
            print(f"{m.id}  {m.file:34}  {m.category:18}  {m.what}")
        return 0
    commit = None if args.worktree else args.commit
    with tempfile.TemporaryDirectory(prefix="lrgen-mutation-") as tmp:
        work = Path(tmp)
        copy_repository(work, commit)
        wrong = problems(chosen, lambda f: (work / f).read_text())
        if wrong:
            print("\n".join(wrong), file=sys.stderr)
            return 2
        if args.check:
            print(f"{len(chosen)} mutations, each applies exactly once")
            return 0
        check_isolation(work)
        source = "working tree" if commit is None else _git("rev-parse", commit).decode().strip()
        command = " ".join(test_command(args.jobs, args.tests)[1:])
        print(f"copy of {source} in {work}\ncommand: python {command}", flush=True)
        if not args.no_baseline:
            passed, which, elapsed = run_tests(work, args.jobs, args.tests, args.timeout)
            print(
                f"baseline (no mutation): {'passed' if passed else 'FAILED ' + which} "
                f"in {elapsed:.0f} s",
                flush=True,
            )
            if not passed:
                print("the unmutated copy must pass first", file=sys.stderr)
                return 2
        results: list[dict[str, object]] = []
        for m in chosen:
            paths = targets(work, m.file)
            originals = [p.read_text() for p in paths]
            for path, text in zip(paths, originals, strict=True):
                path.write_text(text.replace(m.old, m.new, 1))
            try:
                passed, which, elapsed = run_tests(work, args.jobs, args.tests, args.timeout)
            finally:
                for path, text in zip(paths, originals, strict=True):
                    path.write_text(text)
            caught = not passed
            results.append(
                {
                    "id": m.id,
                    "file": m.file,
                    "category": m.category,
                    "what": m.what,
                    "caught": caught,
                    "by": which,
                    "seconds": round(elapsed),
                }
            )
            print(
                f"{m.id} {'caught' if caught else 'SURVIVED'} by {which or '-'} "
                f"({elapsed:.0f} s): {m.what}",
                flush=True,
            )
            args.out.write_text(
                json.dumps({"source": source, "command": command, "results": results}, indent=1)
                + "\n"
            )
    print()
    print("| id | file | kind | mutation | caught by |")
    print("| --- | --- | --- | --- | --- |")
    for r in results:
        by = f"`{r['by']}`" if r["caught"] else "**survived**"
        print(f"| {r['id']} | `{r['file']}` | {r['category']} | {r['what']} | {by} |")
    survived = [r["id"] for r in results if not r["caught"]]
    n_caught = len(results) - len(survived)
    share = 100 * n_caught / len(results) if results else 0.0
    print(
        f"\n{n_caught}/{len(results)} caught ({share:.1f}%)"
        + (f"; survived: {survived}" if survived else "")
    )
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
