"""Mutation sanity check: do the property tests notice a wrong generator?

Each mutation is one small textual change to a COPY of the generator (``lrgen/`` with its
``templates/`` and ``spec/`` packages, in a temporary directory): a constant, a boundary ``<`` for
``<=``, an off-by-one, a dropped term, sin for cos, a wrong dtype, ``max`` for ``min``. For each,
``tests/test_properties.py`` runs against the mutated copy (a subprocess whose working directory
and ``PYTHONPATH`` put the copy first, ``LRGEN_HYPOTHESIS_PROFILE=ci``, ``-x -q``) and the script
records whether a test failed, and which. Every mutation must be caught.

    python bench/mutation.py                 # all mutations, then the table
    python bench/mutation.py --only M03 M07  # some of them
    python bench/mutation.py --list          # the mutations, without running anything

The script refuses to judge mutations when the unmutated copy does not pass (``--no-baseline``
skips that run). The table it prints is the one in docs/verification.md.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ["tests/test_properties.py"]


@dataclass(frozen=True)
class Mutation:
    id: str
    file: str  # relative to the repository root
    old: str  # must occur exactly once in the file
    new: str
    what: str


MUTATIONS = (
    # --- lrgen/lower.py ----------------------------------------------------------------------
    Mutation(
        "M01",
        "lrgen/lower.py",
        'HALF_PI = Op("/", (Const(math.pi, FLOAT), Const(2, INT)), FLOAT)',
        'HALF_PI = Op("/", (Const(math.pi, FLOAT), Const(2.0001, FLOAT)), FLOAT)',
        "constant: pi/2 of every cosine ramp becomes pi/2.0001",
    ),
    Mutation(
        "M02",
        "lrgen/lower.py",
        "return take(values, count_le(boundaries, t - 1))",
        "return take(values, count_le(boundaries, t))",
        "boundary: PiecewiseConstantDecay switches at t = boundary, not after it",
    ),
    Mutation(
        "M03",
        "lrgen/lower.py",
        'return where(t < c["total_iters"], c.lr * c["factor"], c.lr)',
        'return where(t <= c["total_iters"], c.lr * c["factor"], c.lr)',
        "boundary: ConstantLR `<` becomes `<=`",
    ),
    Mutation(
        "M04",
        "lrgen/lower.py",
        "result = where(t < milestone, piece, result)",
        "result = where(t <= milestone, piece, result)",
        "boundary: SequentialLR hands over one step late",
    ),
    Mutation(
        "M05",
        "lrgen/lower.py",
        'return c.lr * decay(c["gamma"], t // c["step_size"])',
        'return c.lr * decay(c["gamma"], (t + 1) // c["step_size"])',
        "off-by-one: StepLR decays one step early",
    ),
    Mutation(
        "M06",
        "lrgen/lower.py",
        'return c.lr * to_float(op("min", t, warmup)) / warmup',
        'return c.lr * to_float(op("max", t, warmup)) / warmup',
        "min -> max: LinearWarmup never holds",
    ),
    Mutation(
        "M07",
        "lrgen/lower.py",
        "return low + (high - low) * sin2_remaining(remaining, length)",
        "return (high - low) * sin2_remaining(remaining, length)",
        "dropped term: cosine annealing loses its eta_min offset",
    ),
    Mutation(
        "M08",
        "lrgen/lower.py",
        'exponent = to_float(t // steps) if c["staircase"] else to_float(t) / steps',
        'exponent = to_float(t) / steps if c["staircase"] else to_float(t) / steps',
        "dropped floor: ExponentialDecay staircase is continuous",
    ),
    # --- lrgen/printers.py -------------------------------------------------------------------
    Mutation(
        "M09",
        "lrgen/printers.py",
        'return f"math.{name}({self._args(node)})"',
        "return f\"math.{ {'sin': 'cos', 'cos': 'sin'}.get(name, name) }({self._args(node)})\"",
        "sin <-> cos in the Python (function/class) printer",
    ),
    Mutation(
        "M10",
        "lrgen/printers.py",
        "right = str(int(b.value)) if small_int else self._wrap(b, _UNARY)",
        "right = str(int(b.value) + 1) if small_int else self._wrap(b, _UNARY)",
        "off-by-one: small integer exponents printed one higher (sin(x)**2 -> **3)",
    ),
    Mutation(
        "M11",
        "lrgen/printers.py",
        'kw = "max" if node.op == "min" else "min"',
        'kw = "min" if node.op == "min" else "max"',
        "min <-> max: torch.clamp bound on the wrong side",
    ),
    Mutation(
        "M12",
        "lrgen/printers.py",
        'return f"{self._wrap(args[0], _ATOM)}.to(dtype)"',
        'return f"{self._wrap(args[0], _ATOM)}.to(torch.float32)"',
        "wrong dtype: the torch tensor variant converts to float32 whatever dtype asks",
    ),
    Mutation(
        "M13",
        "lrgen/printers.py",
        "device=t.device), right=True)",
        "device=t.device), right=False)",
        "boundary: torch.bucketize counts milestones < t instead of <= t",
    ),
    Mutation(
        "M14",
        "lrgen/printers.py",
        "return f'ops.cast({self._args(node)}, \"float32\")'",
        "return f'ops.cast({self._args(node)}, \"float16\")'",
        "wrong dtype: Keras converts the counter to float16",
    ),
    Mutation(
        "M15",
        "lrgen/printers.py",
        'f"ops.sum(ops.cast(ops.expand_dims({self._wrap(x, _WHERE + 1)}, -1) >= "',
        'f"ops.sum(ops.cast(ops.expand_dims({self._wrap(x, _WHERE + 1)}, -1) > "',
        "boundary: Keras table search counts entries < t instead of <= t",
    ),
    # --- templates ---------------------------------------------------------------------------
    Mutation(
        "M16",
        "templates/torch_module.py.jinja",
        "lr = _{{ s.name }}_at(self.last_epoch, c)",
        "lr = _{{ s.name }}_at(self.last_epoch + 1, c)",
        "off-by-one: the torch class runs one step ahead",
    ),
    Mutation(
        "M17",
        "templates/torch_module.py.jinja",
        "return _{{ s.name }}_at(t, c) / c.lr",
        "return _{{ s.name }}_at(t, c) / c.lr ** 0.5",
        "wrong factor: the LambdaLR multiplier is divided by sqrt(lr)",
    ),
    Mutation(
        "M18",
        "templates/keras_module.py.jinja",
        't = ops.floor_divide(ops.cast(step, "int32"), self.steps_per_epoch)',
        't = ops.floor_divide(ops.cast(step, "int32") + 1, self.steps_per_epoch)',
        "off-by-one: Keras epochs start one iteration early",
    ),
    Mutation(
        "M19",
        "templates/keras_module.py.jinja",
        '"{{ p }}": self.{{ p }},',
        '"{{ p }}": self.{{ p }} * 2,',
        "wrong config: Keras get_config doubles the params",
    ),
    Mutation(
        "M20",
        "templates/_common.py.jinja",
        "start, length = start + length, length * mult",
        "start, length = start + length + 1, length * mult",
        "off-by-one: SGDR cycle starts drift by one step per cycle",
    ),
)


def _copy_tree(work: Path) -> None:
    """The layout the tests expect, with the generator's packages inside ``lrgen/`` so that
    ``lrgen.templates`` and ``lrgen.spec`` resolve to the copy, not to the editable install."""
    shutil.copytree(ROOT / "lrgen", work / "lrgen", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "templates", work / "lrgen" / "templates")
    shutil.copytree(ROOT / "spec", work / "lrgen" / "spec")
    shutil.copytree(ROOT / "spec", work / "spec")
    shutil.copytree(ROOT / "tests", work / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", work / "pyproject.toml")


def _target(work: Path, file: str) -> Path:
    if file.startswith("templates/"):
        return work / "lrgen" / file
    return work / file


def _env(work: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(work), "LRGEN_HYPOTHESIS_PROFILE": "ci"}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.pop("PYTHONSAFEPATH", None)
    return env


def _check_isolation(work: Path) -> None:
    """The subprocess really imports the copy (package, templates and schema)."""
    probe = (
        "import lrgen, lrgen.templates, lrgen.spec; "
        "print(lrgen.__file__); print(*lrgen.templates.__path__); print(*lrgen.spec.__path__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=work,
        env=_env(work),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for path in out:
        if not Path(path).resolve().is_relative_to(work.resolve()):
            raise SystemExit(f"isolation failed: {path} is outside the copy {work}")


def _run_tests(work: Path, timeout: int) -> tuple[bool, str, float]:
    start = time.monotonic()
    cmd = [sys.executable, "-m", "pytest", *TESTS, "-x", "-q", "-p", "no:cacheprovider"]
    try:
        proc = subprocess.run(
            cmd, cwd=work, env=_env(work), capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return False, "timeout", time.monotonic() - start
    elapsed = time.monotonic() - start
    failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", proc.stdout, re.MULTILINE)
    if proc.returncode == 0:
        return True, "", elapsed
    which = failed[0].split("::", 1)[-1] if failed else f"exit {proc.returncode}"
    return False, re.sub(r" - .*", "", which), elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="mutation ids to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument("--no-baseline", action="store_true", help="skip the unmutated run")
    parser.add_argument("--timeout", type=int, default=1200, help="seconds per test run")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTATIONS if not args.only or m.id in args.only]
    if args.list:
        for m in chosen:
            print(f"{m.id}  {m.file:34}  {m.what}")
        return 0
    with tempfile.TemporaryDirectory(prefix="lrgen-mutation-") as tmp:
        work = Path(tmp)
        _copy_tree(work)
        _check_isolation(work)
        originals = {m.file: _target(work, m.file).read_text() for m in chosen}
        for m in chosen:  # every mutation applies to the current source exactly once
            count = originals[m.file].count(m.old)
            if count != 1:
                raise SystemExit(f"{m.id}: {m.old!r} occurs {count} times in {m.file}")
        if not args.no_baseline:
            passed, which, elapsed = _run_tests(work, args.timeout)
            print(
                f"baseline (no mutation): {'passed' if passed else 'FAILED ' + which} "
                f"in {elapsed:.0f} s",
                flush=True,
            )
            if not passed:
                print("the unmutated copy must pass first", file=sys.stderr)
                return 2
        rows = []
        for m in chosen:
            path = _target(work, m.file)
            path.write_text(originals[m.file].replace(m.old, m.new))
            try:
                passed, which, elapsed = _run_tests(work, args.timeout)
            finally:
                path.write_text(originals[m.file])
            caught = not passed
            rows.append((m, caught, which, elapsed))
            print(
                f"{m.id} {'caught' if caught else 'MISSED'} by {which or '-'} "
                f"({elapsed:.0f} s): {m.what}",
                flush=True,
            )
    print()
    print("| id | file | mutation | caught by |")
    print("| --- | --- | --- | --- |")
    for m, caught, which, _ in rows:
        print(f"| {m.id} | `{m.file}` | {m.what} | {f'`{which}`' if caught else '**missed**'} |")
    missed = [m.id for m, caught, _, _ in rows if not caught]
    print(
        f"\n{len(rows) - len(missed)}/{len(rows)} caught"
        + (f"; missed: {missed}" if missed else "")
    )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
