"""CLI cold start: ``lrgen validate`` and ``lrgen build --check`` against their baselines.

Fresh processes, interleaved, median of the per-repeat ratios:

* ``lrgen validate spec/examples/transformer.yaml`` vs ``python -c "import yaml, jsonschema"``
  (the libraries validation cannot do without); goal <= 1.5x. ``validate --no-lint`` is timed
  too, to show what the lint warnings (NumPy and the reference evaluator) cost.
* ``lrgen build spec/examples/*.yaml --check --out generated`` vs ``lrgen validate`` of the same
  files; goal <= 2x. (``--check`` writes nothing; exit 1, files out of date, is accepted.)

Wall-clock is the goal's measure; the CPU time of each child process (user + sys, from
``getrusage``) is reported beside it, as the machine is shared. ``python -X importtime`` shows
what each command imports and what that costs.

    python bench/cli_startup.py [--quick] [--out docs/performance.md]
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as C

ROOT = C.ROOT
HEAVY = ("torch", "tensorflow", "keras", "jax", "matplotlib")


def lrgen_command() -> list[str]:
    """The installed console script (what users run), else ``python -m lrgen.cli``."""
    script = Path(sys.executable).parent / "lrgen"
    if script.exists():
        return [str(script)]
    found = shutil.which("lrgen")
    return [found] if found else [sys.executable, "-m", "lrgen.cli"]


def commands() -> dict[str, list[str]]:
    lrgen = lrgen_command()
    examples = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "spec" / "examples").glob("*.yaml"))
    return {
        "import yaml, jsonschema": [sys.executable, "-c", "import yaml, jsonschema"],
        "validate transformer.yaml": [*lrgen, "validate", "spec/examples/transformer.yaml"],
        "validate --no-lint transformer.yaml": [
            *lrgen,
            "validate",
            "--no-lint",
            "spec/examples/transformer.yaml",
        ],
        "validate examples/*.yaml": [*lrgen, "validate", *examples],
        "build examples/*.yaml --check": [
            *lrgen,
            "build",
            *examples,
            "--check",
            "--out",
            "generated",
        ],
    }


def importtime(args: list[str], env: dict[str, str]) -> tuple[list[tuple[str, float]], set[str]]:
    """Top-level imports of ``lrgen.cli.main(args)`` by cumulative time (ms), and all modules."""
    code = (
        "import contextlib, io, json, sys\n"
        "from lrgen.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    main({args!r})\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-P", "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )
    tops: list[tuple[str, float]] = []
    for line in io.StringIO(result.stderr):
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line[len("import time:") :].split("|")
        if not name.startswith("   "):  # top level: one space of padding, no nesting
            tops.append((name.strip(), int(cumulative) / 1e3))
    import json

    modules = set(json.loads(result.stdout.strip().splitlines()[-1]))
    return sorted(tops, key=lambda x: -x[1]), modules


def main(argv: list[str] | None = None) -> int:
    p = C.parser(__doc__.splitlines()[0])
    C.add_candidate_arguments(p)
    args = p.parse_args(argv)
    repeats = 1 if args.quick else 15
    with tempfile.TemporaryDirectory() as pycache:
        env = C.child_env(Path(pycache))
        cmds = {name: (argv_, env) for name, argv_ in commands().items()}
        if args.candidate is not None:  # the lrgen commands again, with the candidate's lrgen
            cand = {**env, "PYTHONPATH": str(args.candidate)}
            for name, argv_ in commands().items():
                if name != BASELINE:
                    cmds[f"{name} (candidate)"] = (argv_, cand)
        return measure(args, cmds, repeats, env)


BASELINE = "import yaml, jsonschema"
RATIOS = {  # label: (numerator, denominator, goal)
    "validate": ("validate transformer.yaml", BASELINE, 1.5),
    "validate --no-lint": ("validate --no-lint transformer.yaml", BASELINE, None),
    "build": ("build examples/*.yaml --check", "validate examples/*.yaml", 2.0),
}


def measure(args, cmds: dict, repeats: int, env: dict[str, str]) -> int:
    def run_once(name: str) -> tuple[float, float, int]:
        argv_, env_ = cmds[name]
        return C.run_child(argv_, env=env_, cwd=ROOT, ok=(0, 1))[:3]

    for name in cmds:  # write the bytecode, warm the file cache, check each runs
        run_once(name)
    wall: dict[str, list[float]] = {k: [] for k in cmds}
    cpu: dict[str, list[float]] = {k: [] for k in cmds}
    codes: dict[str, int] = {}
    names = list(cmds)
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            w, c, code = run_once(name)
            wall[name].append(w)
            cpu[name].append(c)
            codes[name] = code
    for name in names:
        print(f"{name:52} wall {C.median(wall[name]):.3f} s  cpu {C.median(cpu[name]):.3f} s")
    results = {}
    suffixes = [""] + ([" (candidate)"] if args.candidate is not None else [])
    for suffix in suffixes:
        for key, (num, den, goal) in RATIOS.items():
            num, den = num + suffix, den if den == BASELINE else den + suffix
            results[key + suffix] = {
                "num": num,
                "den": den,
                "goal": goal,
                "wall": C.median_ratio(wall[num], wall[den]),
                "cpu": C.median_ratio(cpu[num], cpu[den]),
            }
            print(f"{key + suffix}: {results[key + suffix]}")
    examples = [str(p) for p in sorted((ROOT / "spec" / "examples").glob("*.yaml"))]
    profiles = {
        "validate": importtime(["validate", "spec/examples/transformer.yaml"], env),
        "build --check": importtime(["build", *examples, "--check", "--out", "generated"], env),
    }
    write_report(args, cmds, wall, cpu, codes, results, profiles, repeats)
    return 0


def write_report(args, cmds, wall, cpu, codes, results, profiles, repeats) -> None:
    rows = [
        [
            f"`{name}`",
            f"{C.median(wall[name]) * 1e3:.0f} ms",
            f"{C.median(cpu[name]) * 1e3:.0f} ms",
            codes[name],
        ]
        for name in cmds
    ]
    r_rows = []
    for r in results.values():
        r_rows.append(
            [
                f"`{r['num']}` / `{r['den']}`",
                f"**{r['wall']:.2f}x**",
                f"{r['cpu']:.2f}x",
                f"≤ {r['goal']:.1f}x" if r["goal"] else "(information)",
                C.met(r["wall"] <= r["goal"]) if r["goal"] else "",
            ]
        )
    prof = []
    for label, (tops, modules) in profiles.items():
        heavy = [h for h in HEAVY if any(m == h or m.startswith(h + ".") for m in modules)]
        listing = ", ".join(f"`{name}` {ms:.0f} ms" for name, ms in tops[:8])
        prof.append(
            f"* `{label}`: {len(modules)} modules; top-level imports by cumulative time: "
            f"{listing}. Heavy frameworks imported: {', '.join(heavy) or 'none'}."
        )
    body = "\n\n".join(
        [
            f"Median of {repeats} interleaved cold runs of each command (fresh processes, the "
            "installed `lrgen` console script, the OS file cache warm, bytecode cached as after "
            "a normal install: `PYTHONPYCACHEPREFIX` to a temporary folder, since this machine "
            "sets `PYTHONDONTWRITEBYTECODE`); the ratios are medians of per-repeat ratios. CPU "
            "time is the child's user + sys time." + C.candidate_text(args),
            C.table(["command", "wall-clock", "CPU time", "exit"], rows),
            C.table(["ratio", "wall-clock", "CPU time", "goal", ""], r_rows),
            "What the commands import (`python -X importtime`, one run, wall-clock, inflated by "
            "the machine's load):",
            "\n".join(prof),
        ]
    )
    summary = []
    for suffix in [""] + ([" (candidate)"] if args.candidate is not None else []):
        note = " (candidate patch)" if suffix else ""
        v, nl, b = (results[k + suffix] for k in ("validate", "validate --no-lint", "build"))
        summary += [
            C.Row(
                f"`lrgen validate` cold start / `import yaml, jsonschema`{note}",
                "≤ 1.5x",
                f"{v['wall']:.2f}x ({v['cpu']:.2f}x CPU); with `--no-lint` {nl['wall']:.2f}x",
                v["wall"] <= 1.5,
            ),
            C.Row(
                f"`lrgen build --check` / `lrgen validate`, spec/examples{note}",
                "≤ 2x",
                f"{b['wall']:.2f}x ({b['cpu']:.2f}x CPU)",
                b["wall"] <= 2.0,
            ),
        ]
    C.write_section(args.out, "cli_startup", body, summary, quick=args.quick)


if __name__ == "__main__":
    sys.exit(main())
