"""Shared plumbing of the benchmark scripts: timing, statistics, machine facts, the report.

Every script times both sides of a comparison in one process, interleaved, over several
repeats, and reports the median of the per-repeat ratios (the machine is shared and noisy, so
a ratio taken within one repeat cancels most of the drift that two separate runs would not).

Each script writes its own section of one markdown report (default ``docs/performance.md``).
A section is delimited by HTML comments and carries its summary rows as JSON in a comment, so
that any script can rebuild the summary table at the top from every section present.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "docs" / "performance.md"
#: Hand-written findings (profiles, proposed patches), placed after the summary table.
FINDINGS = Path(__file__).resolve().parent / "findings.md"
PYTHON = sys.executable
#: When this script started, and the load average then: the report states both beside the
#: load at the end, so a reader can judge how busy the (shared) machine was during the run.
_STARTED_NS = time.perf_counter_ns()
_STARTED_LOAD = os.getloadavg() if hasattr(os, "getloadavg") else None

#: Report sections in the order they appear, with their titles.
SECTIONS: dict[str, str] = {
    "scheduler_step": "1. `scheduler.step()`: generated class vs torch built-ins",
    "compile_recompiles": "2. `torch.compile`: recompilations with a tensor LR",
    "keras_fit": "3. Keras `model.fit` with `jit_compile=True`",
    "reference_eval": "4. Reference evaluator (`lrgen.evaluate`)",
    "cli_startup": "5. CLI start-up",
    "scale": "6. Scale: a spec with 500 schedules",
    "optax_schedule": "7. optax: a generated schedule in a jitted train step",
}

_BEGIN = "<!-- bench:{name} begin -->"
_END = "<!-- bench:{name} end -->"
_SUMMARY = re.compile(r"<!-- summary: (.*?) -->", re.S)


# --- arguments ----------------------------------------------------------------------------------


def parser(description: str) -> argparse.ArgumentParser:
    """The options every script takes: ``--quick`` and ``--out``."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test, not a result")
    p.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"markdown report to update (default: {DEFAULT_OUT.relative_to(ROOT)})",
    )
    return p


def add_candidate_arguments(p: argparse.ArgumentParser) -> None:
    """``--candidate ROOT`` and ``--candidate-note TEXT``: time a proposed change too."""
    p.add_argument(
        "--candidate",
        type=Path,
        help="root of another lrgen checkout (a proposed change), timed beside the installed one",
    )
    p.add_argument(
        "--candidate-note",
        default="",
        help="what the candidate is (e.g. which change it applies)",
    )


def candidate_text(args: argparse.Namespace) -> str:
    """A sentence for the report naming the candidate, or nothing."""
    if getattr(args, "candidate", None) is None:
        return ""
    note = f": {args.candidate_note}" if args.candidate_note else ""
    return f" *candidate*: the lrgen checkout at `{args.candidate}`{note}."


def command_line() -> str:
    """The command that ran this script, with the environment variables that matter."""
    env = [
        f"{k}={os.environ[k]}"
        for k in ("OMP_NUM_THREADS", "KERAS_BACKEND", "CUDA_VISIBLE_DEVICES")
        if k in os.environ
    ]
    script = Path(sys.argv[0]).resolve()
    try:
        script_text = str(script.relative_to(ROOT))
    except ValueError:
        script_text = str(script)
    args = [a for a in sys.argv[1:]]
    return " ".join([*env, "python", shlex.quote(script_text), *map(shlex.quote, args)])


# --- timing -------------------------------------------------------------------------------------


def timed_ns(fn: Callable[[], object]) -> int:
    """Nanoseconds one call of ``fn`` takes, with the garbage collector paused (as timeit does)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter_ns()
        fn()
        return time.perf_counter_ns() - start
    finally:
        if enabled:
            gc.enable()


def interleaved(
    sides: dict[str, Callable[[], object]], repeats: int, *, warmup: int = 1
) -> dict[str, list[int]]:
    """Time each side once per repeat, the sides alternating (order rotated every repeat).

    Returns nanoseconds per side, one per repeat. ``warmup`` untimed rounds come first.
    """
    names = list(sides)
    for _ in range(warmup):
        for name in names:
            sides[name]()
    times: dict[str, list[int]] = {name: [] for name in names}
    for r in range(repeats):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            times[name].append(timed_ns(sides[name]))
    return times


def calibrate(
    runs_for: Callable[[int], Iterable[Callable[[], object]]],
    target_ns: float,
    *,
    probe: int = 20,
    most: int = 5000,
) -> int:
    """How many iterations make the slowest side's block last about ``target_ns``.

    ``runs_for(n)`` gives one callable per side doing ``n`` iterations. Short blocks keep most
    blocks free of preemption on a loaded machine, so the median over many repeats is clean.
    """
    slowest = max(min(timed_ns(run) for _ in range(3)) for run in runs_for(probe)) / probe
    return max(1, min(most, int(target_ns / max(slowest, 1.0))))


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def median_ratio(num: Sequence[float], den: Sequence[float]) -> float:
    """Median over repeats of ``num[i] / den[i]`` (the two were timed back to back)."""
    return statistics.median(a / b for a, b in zip(num, den, strict=True))


class Run(NamedTuple):
    """One fresh process: wall-clock and CPU seconds (user + sys), exit code, stdout."""

    wall: float
    cpu: float
    code: int
    stdout: str


def run_child(
    argv: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    ok: Sequence[int] = (0,),
) -> Run:
    """Run ``argv`` in a fresh process and time it; raises unless its exit code is in ``ok``."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter_ns()
    result = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, check=False)
    wall = (time.perf_counter_ns() - start) / 1e9
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if result.returncode not in ok:
        raise RuntimeError(
            f"{shlex.join(argv)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return Run(wall, cpu, result.returncode, result.stdout)


def child_env(pycache: Path | None, **extra: str) -> dict[str, str]:
    """The environment of a timed child process.

    With ``pycache``, bytecode is written to and read from that folder
    (``PYTHONPYCACHEPREFIX``), as after a normal install, even where the environment sets
    ``PYTHONDONTWRITEBYTECODE`` (this machine does); without it, the environment's setting
    stands.
    """
    env = {**os.environ, **extra}
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


# --- formatting ---------------------------------------------------------------------------------


def fmt_ns(ns: float) -> str:
    if ns >= 1e9:
        return f"{ns / 1e9:.2f} s"
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.0f} ns"


def fmt_ratio(x: float) -> str:
    return f"{x:.2f}x"


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def met(ok: bool) -> str:
    return "met" if ok else "**missed**"


# --- machine ------------------------------------------------------------------------------------


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    for line in text.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def load_line() -> str:
    """How busy the machine was: load averages at the script's start and now, and its wall time.

    The benchmark machine is shared, so absolute times move with the load; the ratios, taken
    within one interleaved run, hold up better than the absolute times do.
    """
    wall = (time.perf_counter_ns() - _STARTED_NS) / 1e9
    if _STARTED_LOAD is None:
        return f"script wall time {wall:.0f} s (load average not available)"

    def fmt(load: tuple[float, float, float]) -> str:
        return " / ".join(f"{x:.2f}" for x in load)

    return (
        f"load average (1 / 5 / 15 min) {fmt(_STARTED_LOAD)} at the start, "
        f"{fmt(os.getloadavg())} at the end; script wall time {wall:.0f} s"
    )


def tree() -> str:
    """Which lrgen is measured: the commit of the checkout ``import lrgen`` finds (without
    importing it), and how many of lrgen's tracked files differ from that commit."""
    import importlib.util

    found = importlib.util.find_spec("lrgen")
    if found is None or found.origin is None:
        return "lrgen not found"
    root = Path(found.origin).resolve().parent.parent
    git = ["git", "-C", str(root)]
    tracked = ["lrgen", "templates", "spec", "pyproject.toml"]
    try:
        commit = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        )
        status = subprocess.run(
            [*git, "status", "--porcelain", "--untracked-files=no", "--", *tracked],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return f"lrgen from {root} (no git)"
    if commit.returncode != 0 or status.returncode != 0:
        return f"lrgen from {root} (not a git checkout)"
    changed = len(status.stdout.splitlines())
    return f"lrgen at commit {commit.stdout.strip()}" + (
        f" with {changed} uncommitted changed file(s) among its sources"
        if changed
        else " (its sources as committed)"
    )


def machine() -> str:
    """One line of facts about where the numbers come from (no framework is imported)."""
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"nproc {nproc}, CPU {cpu_model()}, Linux {platform.release()}, "
        f"Python {platform.python_version()}, torch {_version('torch')}, "
        f"keras {_version('keras')}, tensorflow {_version('tensorflow-cpu')}, "
        f"numpy {_version('numpy')}"
    )


# --- report -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One line of the summary table: what was measured, its goal, the result, met or not."""

    measure: str
    goal: str
    result: str
    ok: bool


def write_section(out: Path, name: str, body: str, rows: Sequence[Row], *, quick: bool) -> None:
    """Replace section ``name`` of the report at ``out`` and rebuild its summary table."""
    sections = _read_sections(out)
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    where = f"Measured {stamp}, {tree()}, on: {machine()}; {load_line()}."
    meta = f"{where}\n\nCommand: `{command_line()}`" + (
        "\n\n*`--quick` run: smoke-test sizes, not a result.*" if quick else ""
    )
    summary = json.dumps([asdict(r) for r in rows], ensure_ascii=False)
    sections[name] = (
        f"{_BEGIN.format(name=name)}\n## {SECTIONS[name]}\n\n{meta}\n\n{body.strip()}\n\n"
        f"<!-- summary: {summary} -->\n{_END.format(name=name)}"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(_render(sections), encoding="utf-8")
    os.replace(tmp, out)
    print(f"wrote section {name!r} of {out}")


def _read_sections(out: Path) -> dict[str, str]:
    if not out.exists():
        return {}
    text = out.read_text(encoding="utf-8")
    found = {}
    for name in SECTIONS:
        begin, end = _BEGIN.format(name=name), _END.format(name=name)
        i, j = text.find(begin), text.find(end)
        if i >= 0 and j > i:
            found[name] = text[i : j + len(end)]
    return found


_INTRO = """\
# Performance

How fast lrgen's generated code and tools are, measured side by side with the frameworks' own
schedulers. Every comparison runs both sides in one process, interleaved, over several repeats,
and reports the **median of the per-repeat ratios** (the benchmark machine is small, shared and
noisy; a ratio taken within one repeat cancels most of the drift). Timings use
`time.perf_counter_ns` with the garbage collector paused during each timed block. Each section
below says where, when and with which command its numbers were taken: the machine, the load
average at the start and at the end of the script, and the script's wall time. The machine is
shared with other work, so absolute times move with its load; the ratios, taken within one
interleaved run, hold up better than the absolute times do. Every number on this page is of the
tree as it stands at the date of its section.

This file is written by the scripts in `bench/` (the findings come from `bench/findings.md`);
edit those, not this file.
"""

_REPRODUCE = """\
## How to reproduce

```sh
python bench/scheduler_step.py        # 1. scheduler.step() vs torch built-ins
python bench/compile_recompiles.py    # 2. torch.compile recompilations
python bench/keras_fit.py             # 3. Keras fit, jit_compile=True
OMP_NUM_THREADS=1 python bench/reference_eval.py  # 4. lrgen.evaluate throughput and memory
python bench/cli_startup.py           # 5. CLI cold start
python bench/scale.py                 # 6. 500-schedule spec
python bench/optax_schedule.py        # 7. optax train step, recompiles
```

Each script updates its own section of this file and the summary table (`--out PATH` writes
elsewhere; `--quick` runs tiny sizes as a smoke test, which is what
`tests/test_bench_smoke.py` does). No test asserts a timing.

`bench/README.md` describes the scripts, and `--candidate ROOT`, a tool for evaluating a
proposed change before it is committed: it times a scratch copy of the tree beside the installed
one in the same interleaved run. Such a run writes elsewhere (`--out`), not to this page, which
reports the tree itself.

After editing `bench/findings.md`, `python bench/_common.py` re-renders this file without
measuring anything.
"""


def _render(sections: dict[str, str]) -> str:
    rows: list[list[str]] = []
    for name, text in sections.items():
        match = _SUMMARY.search(text)
        if match is None:
            continue
        for r in json.loads(match.group(1)):
            rows.append(
                [
                    f"[{name}](#{_anchor(SECTIONS[name])})",
                    r["measure"],
                    r["goal"],
                    r["result"],
                    met(r["ok"]),
                ]
            )
    order = list(SECTIONS)
    rows.sort(key=lambda row: order.index(row[0][1 : row[0].index("]")]))
    parts = [_INTRO, "## Summary\n\n" + table(["bench", "measure", "goal", "result", ""], rows)]
    if FINDINGS.exists():  # the hand-written analysis: profiles and proposed fixes
        parts.append(FINDINGS.read_text(encoding="utf-8"))
    parts += [sections[name] for name in SECTIONS if name in sections]
    parts.append(_REPRODUCE)
    return "\n\n".join(p.strip() for p in parts) + "\n"


def _anchor(title: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", title.lower())
    return text.replace(" ", "-")


# --- generated code -----------------------------------------------------------------------------


def lrgen_build(spec: Path, out: Path, target: str, *, lrgen_root: Path | None = None) -> Path:
    """``lrgen build SPEC --out OUT --target TARGET`` in a subprocess; the module's path.

    ``lrgen_root``: build with the lrgen of another checkout (put first on ``PYTHONPATH``), to
    time a proposed change against the installed lrgen in one process.
    """
    env = None
    if lrgen_root is not None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(lrgen_root), *_pythonpath()])}
    subprocess.run(
        # -P: the current directory must not shadow the lrgen on PYTHONPATH (or the installed one)
        [
            PYTHON,
            "-P",
            "-m",
            "lrgen.cli",
            "build",
            str(spec),
            "--out",
            str(out),
            "--target",
            target,
        ],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return out / f"{spec.stem}_{target}.py"


def _pythonpath() -> list[str]:
    return [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]


def import_path(path: Path, name: str | None = None):
    """Import the module at ``path`` (a generated file) under ``name``."""
    import importlib.util

    name = name or path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def rerender(out: Path = DEFAULT_OUT) -> None:
    """Rebuild the report from its sections as they stand (after editing findings.md)."""
    out.write_text(_render(_read_sections(out)), encoding="utf-8")


if __name__ == "__main__":  # python bench/_common.py [REPORT]: re-render only
    rerender(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT)
