"""Every command turns bad input into a positioned problem (exit 2), never a traceback, and keeps
its exit code when its reader goes away.

- ``test_fuzz_*``: specs mutated at random (a fixed seed) from the examples, through validate,
  build, table and show. Each run must exit 0 or 2 and must never reach the command line's last
  line of defence (``lrgen COMMAND: error: ...``), which is for what no check foresaw.
- The last line of defence itself: an exception from a command is one line and exit 2.
- A closed stdout (``lrgen build --check | head``) keeps the real exit code.
"""

from __future__ import annotations

import copy
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from lrgen import cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "spec" / "examples").glob("*.yaml"))

#: Values a mutation puts in place of a scalar: boundaries, wrong types, huge and odd numbers,
#: expressions that overflow or divide by zero, long text.
ODD_VALUES: list[Any] = [
    0,
    -1,
    1,
    0.5,
    2**53 + 1,
    2**31,
    1e308,
    -1e-320,
    None,
    True,
    "",
    "1 / 0",
    "exp(1000)",
    "2 ** 5000",
    "t ** 1000",
    "1" + "0" * 400,
    "x" * 300,
    [],
    {},
    [1, 2, 3],
    [3, 2, 1],
]


def _paths(value: Any, path: tuple = ()) -> list[tuple]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _paths(item, (*path, i))
    return found


def _set(data: Any, path: tuple, value: Any) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def mutate(data: dict, rng: random.Random) -> dict:
    result = copy.deepcopy(data)
    for _ in range(rng.randint(1, 3)):
        paths = [p for p in _paths(result) if p]
        path = rng.choice(paths)
        choice = rng.random()
        parent = result
        for part in path[:-1]:
            parent = parent[part]
        current = parent[path[-1]]
        if choice < 0.5 and isinstance(current, int | float) and not isinstance(current, bool):
            # a valid-looking neighbour of a number: the boundaries that usually break
            factor = rng.choice([0, -1, 1e-12, 1e-3, 2, 1e3, 1e6, 2**31, 2**52])
            tweaked = current * factor + rng.choice([0, 0, 1, -1])
            parent[path[-1]] = int(tweaked) if isinstance(current, int) else tweaked
        elif choice < 0.6 and isinstance(parent, dict):
            del parent[path[-1]]
        elif choice < 0.7 and isinstance(parent, list):
            parent.extend(copy.deepcopy(parent) * rng.randint(1, 40))
        else:
            _set(result, path, copy.deepcopy(rng.choice(ODD_VALUES)))
    return result


def fuzz_cases(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    documents = [yaml.safe_load(p.read_text(encoding="utf-8")) for p in EXAMPLES]
    cases = []
    for _ in range(count):
        mutated = mutate(rng.choice(documents), rng)
        cases.append(yaml.safe_dump(mutated, sort_keys=False, width=10_000))
    return cases


def run_command(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("index", range(30))
def test_fuzz_every_command_answers_with_an_exit_code(capsys, tmp_path, index: int) -> None:
    text = fuzz_cases(30, seed=20261203)[index]
    spec = tmp_path / "fuzzed.yaml"
    spec.write_text(text, encoding="utf-8")
    for command in (
        ["validate", str(spec)],
        ["build", str(spec), "--out", str(tmp_path / "out")],
        ["table", str(spec), "--steps", "50"],
        ["show", str(spec), "--steps", "50"],
    ):
        code, out, err = run_command(capsys, *command)
        assert code in (0, 2), (command, out, err, text)
        assert f"lrgen {command[0]}: error:" not in err, (err, text)
        if command[0] == "validate" and code == 2:  # the problems carry places
            assert all(line.startswith(f"{spec}:") for line in out.splitlines()), out


def test_an_unforeseen_exception_is_one_line_and_exit_2(capsys, monkeypatch) -> None:
    from lrgen.commands import schema

    def explode(args: object) -> int:
        raise OverflowError("int too large to convert to float")

    monkeypatch.setattr(schema, "run", explode)
    code, out, err = run_command(capsys, "schema")
    assert (code, out) == (2, "")
    assert err == "lrgen schema: error: OverflowError: int too large to convert to float\n"


def test_the_recursion_limit_is_named(capsys, monkeypatch) -> None:
    from lrgen.commands import schema

    def recurse(args: object) -> int:
        return recurse(args)

    monkeypatch.setattr(schema, "run", recurse)
    code, _, err = run_command(capsys, "schema")
    assert code == 2
    assert err == (
        "lrgen schema: error: the spec is nested too deeply to process (Python's recursion "
        "limit was reached)\n"
    )


@pytest.mark.parametrize("kind", ["SequentialLR", "ChainedScheduler"])
def test_the_most_nodes_a_schedule_may_have_build(capsys, tmp_path, kind: str) -> None:
    """32 children whose last is itself 31 deep (64 nodes, the limit), ending in the deepest
    expression: the generated formula's nesting stays inside the recursion limit."""
    deep = "t" + " + (1" * 40 + ")" * 40
    leaf = {"kind": "LambdaLR", "lr_lambda": f"1 / (1 + {deep})"}
    constant = {"kind": "ConstantLR", "factor": 0.5, "total_iters": 1}

    def node(children: list[dict]) -> dict:
        result = {"kind": kind, "schedulers": children}
        if kind == "SequentialLR":
            result["milestones"] = list(range(1, len(children)))
        return result

    top = node([constant] * 31 + [node([constant] * 30 + [leaf])])
    spec = tmp_path / "widest.yaml"  # JSON text is YAML too
    document = {"lrgen": 1, "schedules": {"s": {"lr": 0.1, "schedule": top}}}
    spec.write_text(json.dumps(document, indent=1), encoding="utf-8")
    code, out, err = run_command(capsys, "build", str(spec), "--out", str(tmp_path / "out"))
    assert (code, err) == (0, ""), out
    code, out, err = run_command(capsys, "table", str(spec), "--steps", "40")
    assert code == 0, err


def _closed_stdout(*args: str) -> subprocess.CompletedProcess[str]:
    """``lrgen ARGS | true``: the reader is gone before lrgen writes anything."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(
            [sys.executable, "-m", "lrgen.cli", *args],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            check=False,
            timeout=300,
        )
    finally:
        os.close(write)


def test_a_closed_pipe_keeps_the_stale_exit_code(tmp_path) -> None:
    spec = tmp_path / "sched.yaml"
    spec.write_text(
        "lrgen: 1\nschedules:\n  decay:\n    lr: 0.1\n    schedule: {kind: StepLR, step_size: 9}\n",
        encoding="utf-8",
    )
    out_dir = tmp_path / "out"
    assert cli.main(["build", str(spec), "--out", str(out_dir)]) == 0
    (out_dir / "sched_torch.py").write_text("# stale\n", encoding="utf-8")
    result = _closed_stdout("build", "--check", str(spec), "--out", str(out_dir))
    assert (result.returncode, result.stderr) == (1, "")
    result = _closed_stdout("table", str(spec))
    assert (result.returncode, result.stderr) == (0, "")
    result = _closed_stdout("validate", str(tmp_path / "missing.yaml"))
    assert (result.returncode, result.stderr) == (2, "")


def test_a_huge_restart_growth_is_a_valid_spec(capsys, tmp_path) -> None:
    """Found by the fuzz: t_mul 1e308 overflowed while counting restart periods."""
    spec = tmp_path / "restarts.yaml"
    spec.write_text(
        "lrgen: 1\nschedules:\n  r:\n    lr: 0.1\n    schedule:\n      kind: CosineDecayRestarts\n"
        "      first_decay_steps: 10\n      t_mul: 1.0e+308\n",
        encoding="utf-8",
    )
    assert run_command(capsys, "validate", "--no-lint", str(spec)) == (0, "", "")
    code, _, err = run_command(capsys, "table", str(spec), "--steps", "30")
    assert (code, err) == (0, "")
    code, _, err = run_command(capsys, "build", str(spec), "--out", str(tmp_path / "out"))
    assert (code, err) == (0, "")


def test_a_table_of_a_huge_horizon_is_refused_with_a_way_out(capsys, tmp_path) -> None:
    spec = tmp_path / "long.yaml"
    spec.write_text(
        "lrgen: 1\nschedules:\n  c:\n    lr: 0.1\n    schedule:\n      kind: CosineAnnealingLR\n"
        "      T_max: 9007199254740992\n",
        encoding="utf-8",
    )
    code, out, err = run_command(capsys, "table", str(spec))
    assert (code, out) == (2, "")
    assert err == (
        "lrgen table: 9,907,919,180,215,092 rows (t from 0 to 9,907,919,180,215,091); at most "
        "5,000,000: choose fewer with --steps N or --every K\n"
    )
    code, out, _ = run_command(capsys, "table", str(spec), "--every", "2000000000000")
    assert code == 0 and out.count("\n") == 4955
