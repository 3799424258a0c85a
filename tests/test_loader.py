"""The loader: spec text -> IR, and every problem with its place (docs/spec.md)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

import lrgen
from lrgen import cli, ir, loader
from lrgen import expr as ex
from lrgen.errors import Problem, SpecError

VALID_YAML = """\
# yaml-language-server: $schema=../spec/lrgen.schema.json
lrgen: 1
description: Schedules of the test suite
schedules:
  warmup_cosine:
    description: Linear warmup, then cosine decay
    lr: 5.0e-4
    params:
      total_steps: 100000
      warmup_steps: 2000
    schedule:
      kind: SequentialLR
      milestones: [warmup_steps]
      schedulers:
        - {kind: LinearLR, start_factor: 0.01, end_factor: 1.0, total_iters: warmup_steps}
        - kind: CosineAnnealingLR
          description: the decay
          T_max: "total_steps - warmup_steps"
          eta_min: 1.0e-6

  # an epoch-based one
  step_decay:
    lr: 0.1
    unit: epoch
    schedule: {kind: StepLR, step_size: 30}
"""

WARMUP_COSINE_SOURCE = """\
warmup_cosine:
  description: Linear warmup, then cosine decay
  lr: 5.0e-4
  params:
    total_steps: 100000
    warmup_steps: 2000
  schedule:
    kind: SequentialLR
    milestones: [warmup_steps]
    schedulers:
      - {kind: LinearLR, start_factor: 0.01, end_factor: 1.0, total_iters: warmup_steps}
      - kind: CosineAnnealingLR
        description: the decay
        T_max: "total_steps - warmup_steps"
        eta_min: 1.0e-6"""


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _problems(text: str | bytes, name: str = "spec.yaml") -> list[tuple[int, int, str, str]]:
    spec, problems = loader.analyze(text, name)
    assert spec is None
    assert all(p.file == name for p in problems)
    return [(p.line, p.column, p.path, p.message) for p in problems]


def _one_problem(text: str | bytes, name: str = "spec.yaml") -> tuple[int, int, str, str]:
    [problem] = _problems(text, name)
    return problem


# --- the good path --------------------------------------------------------------------------------


def test_a_valid_spec_loads_into_the_expected_ir(tmp_path: Path) -> None:
    path = _write(tmp_path, "train.yaml", VALID_YAML)
    spec = lrgen.load(path)

    assert spec.path == str(path)
    assert spec.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert spec.version == 1
    assert spec.description == "Schedules of the test suite"
    assert list(spec.schedules) == ["warmup_cosine", "step_decay"]
    assert spec.stem == "train"

    names = frozenset({"total_steps", "warmup_steps"})
    base = "schedules.warmup_cosine.schedule"
    expected_node = ir.make_node(
        "SequentialLR",
        path=base,
        param_names=names,
        milestones=["warmup_steps"],
        schedulers=[
            ir.make_node(
                "LinearLR",
                path=f"{base}.schedulers[0]",
                param_names=names,
                start_factor=0.01,
                end_factor=1.0,
                total_iters="warmup_steps",
            ),
            ir.make_node(
                "CosineAnnealingLR",
                path=f"{base}.schedulers[1]",
                description="the decay",
                param_names=names,
                T_max="total_steps - warmup_steps",
                eta_min=1.0e-6,
            ),
        ],
    )
    assert spec.schedules["warmup_cosine"] == ir.Schedule(
        name="warmup_cosine",
        lr=ex.Num(5.0e-4),
        node=expected_node,
        unit="step",
        params=(("total_steps", 100000), ("warmup_steps", 2000)),
        description="Linear warmup, then cosine decay",
        source=WARMUP_COSINE_SOURCE,
        path="schedules.warmup_cosine",
    )
    cosine = spec.schedules["warmup_cosine"].node.children[1]
    assert cosine.arg("T_max") == ex.Binary("-", ex.Name("total_steps"), ex.Name("warmup_steps"))
    assert cosine.arg("eta_min") == ex.Num(1e-6)

    step = spec.schedules["step_decay"]
    assert step.unit == "epoch"
    assert step.params == ()
    assert step.description is None
    assert step.node == ir.make_node("StepLR", path="schedules.step_decay.schedule", step_size=30)
    assert (
        step.source
        == "step_decay:\n  lr: 0.1\n  unit: epoch\n  schedule: {kind: StepLR, step_size: 30}"
    )
    assert step.node.arg("step_size") == ex.Num(30) and isinstance(
        step.node.arg("step_size").value, int
    )


def test_the_ir_binds(tmp_path: Path) -> None:
    spec = lrgen.load(_write(tmp_path, "train.yaml", VALID_YAML))
    bound = ir.bind(spec.schedules["warmup_cosine"])
    assert bound["milestones"] == (2000,)
    assert bound.children[1]["T_max"] == 98000


def _as_json(yaml_text: str) -> str:
    return json.dumps(yaml.safe_load(yaml_text), indent=2)


def _without_source(spec: ir.Spec) -> tuple[ir.Schedule, ...]:
    return tuple(dataclasses.replace(s, source="") for s in spec.entries)


def test_json_and_yaml_of_the_same_spec_give_the_same_ir(tmp_path: Path) -> None:
    from_yaml = lrgen.load(_write(tmp_path, "s.yaml", VALID_YAML))
    from_json = lrgen.load(_write(tmp_path, "s.json", _as_json(VALID_YAML)))
    assert _without_source(from_yaml) == _without_source(from_json)
    assert from_yaml.description == from_json.description
    assert from_json.schedules["step_decay"].source == textwrap.dedent(
        """\
        "step_decay": {
          "lr": 0.1,
          "unit": "epoch",
          "schedule": {
            "kind": "StepLR",
            "step_size": 30
          }
        }"""
    )


def test_json_text_read_as_yaml_gives_the_same_ir() -> None:
    text = _as_json(VALID_YAML)
    as_json, as_yaml = loader.load_text(text, "s.json"), loader.load_text(text, "s.yaml")
    assert as_json.entries == as_yaml.entries


def test_load_text_takes_bytes_or_str(tmp_path: Path) -> None:
    from_bytes = loader.load_text(VALID_YAML.encode(), "s.yaml")
    from_str = loader.load_text(VALID_YAML, "s.yaml")
    assert from_bytes == from_str
    assert from_str.sha256 == hashlib.sha256(VALID_YAML.encode()).hexdigest()


def test_validate_exits_0_and_prints_nothing_on_valid_specs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = [
        _write(tmp_path, "a.yaml", VALID_YAML),
        _write(tmp_path, "b.json", _as_json(VALID_YAML)),
    ]
    assert cli.main(["validate", *map(str, files)]) == 0
    assert capsys.readouterr().out == ""


def test_yaml_reads_by_the_yaml_1_2_core_schema() -> None:
    spec = loader.load_text(
        textwrap.dedent(
            """\
            lrgen: 1
            schedules:
              cyclic:
                lr: 1e-3
                description: on
                schedule:
                  kind: CyclicLR
                  base_lr: 1E-4
                  max_lr: +1.
                  step_size_up: 0x10
                  step_size_down: ~
                  gamma: !!float 1
                  cycle_momentum: FALSE
                  mode: !!str triangular2
            """
        ),
        "s.yaml",
    )
    schedule = spec.schedules["cyclic"]
    assert schedule.lr == ex.Num(1e-3)
    assert schedule.description == "on"  # YAML 1.1 would have read a boolean
    node = schedule.node
    assert node.arg("base_lr") == ex.Num(1e-4)
    assert node.arg("max_lr") == ex.Num(1.0)
    assert node.arg("step_size_up") == ex.Num(16)
    assert node.arg("step_size_down") is None
    assert node.arg("gamma") == ex.Num(1.0) and isinstance(node.arg("gamma").value, float)
    assert node.arg("cycle_momentum") is False
    assert node.arg("mode") == "triangular2"


def test_explicit_core_tags_must_fit_their_value() -> None:
    text = "lrgen: 1\nschedules:\n  s:\n    lr: !!int ten\n    schedule: {kind: Constant}\n"
    assert _one_problem(text) == (4, 9, "schedules.s.lr", "ten is not a valid !!int")


def test_aliases_within_the_budget_are_fine_and_each_node_has_its_own_path() -> None:
    spec = loader.load_text(
        textwrap.dedent(
            """\
            lrgen: 1
            schedules:
              first:
                lr: 0.1
                schedule: &decay {kind: StepLR, step_size: 10}
              second:
                lr: 0.2
                schedule: *decay
            """
        ),
        "s.yaml",
    )
    first, second = spec.entries
    assert first.node.args == second.node.args
    assert (first.node.path, second.node.path) == (
        "schedules.first.schedule",
        "schedules.second.schedule",
    )


def test_reduce_lr_on_plateau_and_one_cycle_forms_load() -> None:
    spec = loader.load_text(
        textwrap.dedent(
            """\
            lrgen: 1
            schedules:
              plateau:
                lr: 0.1
                unit: epoch
                schedule: {kind: ReduceLROnPlateau, patience: 3, monitor: val_acc, mode: max}
              cycle:
                lr: 0.1
                schedule: {kind: OneCycleLR, max_lr: 1.0, epochs: 3, steps_per_epoch: 10}
            """
        ),
        "s.yaml",
    )
    assert spec.schedules["plateau"].metric_driven
    assert ir.one_cycle_total_steps(ir.bind(spec.schedules["cycle"])) == 30


def test_a_bom_and_crlf_line_ends_are_read() -> None:
    text = "\ufeff" + VALID_YAML.replace("\n", "\r\n")
    spec = loader.load_text(text.encode(), "s.yaml")
    assert list(spec.schedules) == ["warmup_cosine", "step_decay"]
    bad = "\ufefflrgen: 1\r\nschedules:\r\n  s:\r\n    lr: -1\r\n    schedule: {kind: Constant}\r\n"
    assert _one_problem(bad.encode()) == (4, 9, "schedules.s.lr", "-1 is not greater than 0")


# --- problems -------------------------------------------------------------------------------------

SEVERAL = """\
lrgen: 1
schedules:
  first:
    lr: 0.1
    schedule: {kind: StepLR, step_size: 0, gamma: -1}
  second:
    lr: 0.1
    params: {warmup: 10}
    schedule:
      kind: SequentialLR
      milestones: [20, 5]
      schedulers:
        - {kind: LinearWarmup, warmup_steps: warmup}
        - {kind: LambdaLR, lr_lambda: "0.5 ** (t / warmpu)"}
  third:
    lr: 0.1
    schedule: {kind: ExponentialLR, gama: 0.9}
  Fourth:
    lr: 0.1
    schedule: {kind: Constant}
"""


def test_every_problem_is_reported_sorted(tmp_path: Path) -> None:
    path = _write(tmp_path, "several.yaml", SEVERAL)
    with pytest.raises(SpecError) as caught:
        lrgen.load(path)
    problems = caught.value.problems
    assert [(p.line, p.column, p.path) for p in problems] == [
        (5, 41, "schedules.first.schedule.step_size"),
        (5, 51, "schedules.first.schedule.gamma"),
        (11, 19, "schedules.second.schedule.milestones"),
        (11, 24, "schedules.second.schedule.milestones[1]"),
        (14, 52, "schedules.second.schedule.schedulers[1].lr_lambda"),
        (17, 15, "schedules.third.schedule"),
        (17, 37, "schedules.third.schedule.gama"),
        (18, 3, "schedules.Fourth"),
    ]
    messages = [p.message for p in problems]
    assert messages[0] == "0 is less than the minimum of 1"
    assert messages[1] == "-1 is not greater than 0"
    assert messages[2].startswith("2 milestones for 2 schedulers: expected 1")
    assert messages[3].startswith("5 is not greater than the previous value 20")
    assert messages[4].startswith("unknown name 'warmpu'")
    assert messages[5] == "missing required property 'gamma'"
    assert messages[6] == "unknown parameter 'gama'; did you mean 'gamma'?"
    assert messages[7].startswith("invalid schedule name 'Fourth'")
    assert str(caught.value).splitlines() == [str(p) for p in problems]
    assert str(problems[0]) == (
        f"{path}:5:41: schedules.first.schedule.step_size: 0 is less than the minimum of 1"
    )


def test_validate_prints_every_problem_of_every_file_sorted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    second = _write(tmp_path, "b.yaml", SEVERAL)
    first = _write(tmp_path, "a.yaml", "lrgen: 2\nschedules: {}\n")
    good = _write(tmp_path, "c.yaml", VALID_YAML)
    assert cli.main(["validate", str(second), str(good), str(first)]) == 2
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == [
        f"{first}:1:8: lrgen: unsupported format version 2; this lrgen reads version 1 "
        "(`lrgen: 1`)",
        f"{first}:2:12: schedules: no schedules: define at least one",
    ]
    assert len(lines) == 2 + 8
    assert all(line.startswith(f"{second}:") for line in lines[2:])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: tmp / "missing.yaml", "no such file"),
        (lambda tmp: tmp, "is a directory, not a spec file"),
    ],
)
def test_an_unreadable_file_is_a_problem_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: object, message: str
) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    assert cli.main(["validate", str(path)]) == 2
    assert capsys.readouterr().out == f"{path}:1:1: $: {message}\n"
    with pytest.raises(SpecError) as caught:
        lrgen.load(path)
    assert caught.value.problems == (Problem(str(path), 1, 1, "$", message),)


def test_strict_turns_warnings_into_failures(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    warning = Problem("s.yaml", 3, 5, "schedules.s", "looks odd", severity="warning")
    monkeypatch.setattr(loader, "check_path", lambda path: (None, [warning]))
    assert cli.main(["validate", "s.yaml"]) == 0
    assert cli.main(["validate", "--strict", "s.yaml"]) == 2
    assert capsys.readouterr().out == f"{warning}\n{warning}\n"
    assert str(warning) == "s.yaml:3:5: schedules.s: warning: looks odd"


def test_validate_prints_lint_warnings_unless_no_lint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "warm.yaml"
    spec.write_text(
        "lrgen: 1\nschedules:\n  warm:\n    lr: 0.1\n"
        "    schedule: {kind: LinearWarmup, warmup_steps: 100}\n"
    )
    assert cli.main(["validate", str(spec)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        f"{spec}:5:15: schedules.warm.schedule: warning[zero-start]: the learning rate at"
    )
    assert cli.main(["validate", "--strict", str(spec)]) == 2
    capsys.readouterr()
    assert cli.main(["validate", "--no-lint", "--strict", str(spec)]) == 0
    assert capsys.readouterr().out == ""


def test_an_alias_bomb_is_rejected_in_milliseconds() -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 12):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    text = "lrgen: 1\n" + "\n".join(lines) + "\nschedules: *a11\n"
    start = time.perf_counter()
    problem = _one_problem(text)
    assert time.perf_counter() - start < 0.5  # 10**12 values if expanded
    assert problem == (
        6,
        45,  # the alias that crosses the budget: the eighth *a3 in a4
        "$",
        "this value expands to more than 100000 values through aliases (an alias bomb?)",
    )


def test_a_huge_file_is_rejected_before_parsing(tmp_path: Path) -> None:
    path = _write(tmp_path, "huge.yaml", "lrgen: 1\n" + "# padding\n" * 120_000)
    with pytest.raises(SpecError) as caught:
        lrgen.load(path)
    assert [(p.line, p.column, p.message) for p in caught.value.problems] == [
        (1, 1, "the file is larger than 1024 KiB")
    ]


def test_too_many_values_without_aliases_are_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    message = "the document has more than 1000 values; specs this large are not supported"
    monkeypatch.setattr(loader, "MAX_VALUES", 1000)
    items = ", ".join(["1"] * 1001)
    # values 1 to 5: the document, key and value of lrgen, key schedules, the list: item 995 is
    # value 1001 (YAML counts keys too; JSON counts values)
    assert _one_problem(f"lrgen: 1\nschedules: [{items}]\n") == (2, 13 + 3 * 995, "$", message)
    as_json = f'{{"lrgen": 1, "schedules": [{items}]}}'
    assert _one_problem(as_json, "s.json") == (1, 28 + 3 * 997, "schedules[997]", message)


def test_a_json_file_at_the_size_limit_is_read_in_linear_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(loader, "MAX_LIST_ITEMS", 200_000)  # the values limit comes first here
    as_json = '{"lrgen": 1, "schedules": [' + ", ".join(["1"] * 100_001) + "]}"
    start = time.perf_counter()
    line, column, path, message = _one_problem(as_json, "s.json")
    assert time.perf_counter() - start < 5  # about 0.2 s; quadratic position lookups took 20 s
    assert (line, column, path) == (1, 28 + 3 * 99_997, "schedules[99997]")
    assert message.startswith("the document has more than 100000 values")


def test_deep_json_is_rejected_with_its_place() -> None:
    text = '{"lrgen": 1, "schedules": ' + "[" * 1000 + "]" * 1000 + "}"
    line, column, path, message = _one_problem(text, "s.json")
    assert (line, column, message) == (1, 59, "the document is nested deeper than 32 levels")
    assert path == "schedules" + "[0]" * 32


@pytest.mark.parametrize(
    ("value", "column"),
    [
        ("total_steps.real", 29),  # plain scalar: the '.' of the attribute
        ('"total_steps.real"', 30),  # quoted: one more for the quote
        ("'total_steps.real'", 30),
    ],
)
def test_an_expression_problem_points_at_its_column(value: str, column: int) -> None:
    text = (
        "lrgen: 1\nschedules:\n  s:\n    lr: 0.1\n    params: {total_steps: 10}\n"
        f"    schedule:\n      kind: StepLR\n      step_size: {value}\n"
    )
    assert _one_problem(text) == (
        8,
        column,
        "schedules.s.schedule.step_size",
        "attribute access '.real' is not allowed in an expression",
    )


def test_duplicate_keys_keep_the_first_value_which_is_still_checked() -> None:
    text = (
        "lrgen: 1\nschedules:\n  s:\n    lr: 0.1\n"
        "    schedule: {kind: MultiStepLR, milestones: [5, 3]}\n"
        "  s:\n    lr: 0.2\n"
    )
    assert _problems(text) == [
        (
            5,
            51,
            "schedules.s.schedule.milestones[1]",
            "3 is not greater than the previous value 5; the list must be strictly increasing",
        ),
        (6, 3, "schedules.s", "duplicate key 's' (first defined at line 3)"),
    ]


def test_odd_keys_are_quoted_in_paths_and_printed_safely(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, "s.yaml", 'lrgen: 1\nschedules:\n  "caf\\u00e9\\n": {lr: 1}\n')
    assert cli.main(["validate", str(path)]) == 2
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{path}:3:3: schedules[\"caf\\u00e9\\n\"]: invalid schedule name 'café\\n': use "
        "lowercase letters, digits and '_', starting with a letter",
        f"{path}:3:18: schedules[\"caf\\u00e9\\n\"]: missing required property 'schedule'",
    ]


def test_a_derived_lr_is_checked_at_its_place() -> None:
    text = (
        "lrgen: 1\nschedules:\n  s:\n    lr: 'base - 1'\n    params: {base: 0.5}\n"
        "    schedule: {kind: Constant}\n"
    )
    assert _one_problem(text) == (4, 9, "schedules.s.lr", "-0.5 is not greater than 0")


def test_a_derived_cross_field_check_is_reported() -> None:
    text = textwrap.dedent(
        """\
        lrgen: 1
        schedules:
          s:
            lr: 0.1
            params: {warm: 100, total: 50}
            schedule: {kind: WarmupWithDecay, warmup_steps: warm, total_steps: total}
        """
    )
    assert _one_problem(text) == (
        6,
        53,
        "schedules.s.schedule.warmup_steps",
        "100 must be less than total_steps (50)",
    )


def test_the_loader_imports_no_framework() -> None:
    code = (
        "import sys, lrgen.loader\n"
        f"lrgen.loader.load_text({VALID_YAML!r}, 's.yaml')\n"
        "heavy = {'torch', 'tensorflow', 'keras', 'jax', 'matplotlib', 'jinja2'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
