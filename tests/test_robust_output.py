"""``lrgen build`` and its output folder: errors instead of tracebacks, all files or none, modes.

Each test runs ``lrgen.cli.main`` as the command line does and checks the exit code and the
exact message (``lrgen build: PATH: reason`` on stderr for an output problem, exit 2; exit 1 only
for ``--check`` on stale files).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from lrgen import cli, output

SPEC = """\
lrgen: 1
schedules:
  decay:
    lr: 0.1
    schedule:
      kind: StepLR
      step_size: 10
"""


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "sched.yaml"
    path.write_text(SPEC, encoding="utf-8")
    return path


def build(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    code = cli.main(["build", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_out_is_a_file(capsys, spec, tmp_path) -> None:
    target = tmp_path / "taken"
    target.write_text("not a folder")
    code, out, err = build(capsys, spec, "--out", target)
    assert (code, out) == (2, "")
    assert err == f"lrgen build: {target}: is a file, not a folder (the output folder)\n"
    assert target.read_text() == "not a folder"


def test_out_is_under_a_file(capsys, spec, tmp_path) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("x")
    code, out, err = build(capsys, spec, "--out", blocker / "sub")
    assert (code, out) == (2, "")
    assert (
        err == f"lrgen build: {blocker}: is a file, not a folder (a parent of {blocker / 'sub'})\n"
    )


def test_a_directory_at_a_target_path_changes_nothing(capsys, spec, tmp_path) -> None:
    """The torch module would be written first: with the Keras target blocked, nothing is."""
    out_dir = tmp_path / "out"
    (out_dir / "sched_keras.py").mkdir(parents=True)
    code, out, err = build(capsys, spec, "--out", out_dir)
    assert (code, out) == (2, "")
    assert err == (
        f"lrgen build: {out_dir / 'sched_keras.py'}: is a directory; cannot write the generated "
        "file there\n"
    )
    assert sorted(p.name for p in out_dir.iterdir()) == ["sched_keras.py"]


def test_a_failing_rename_puts_back_what_was_replaced(tmp_path, monkeypatch) -> None:
    first, second = tmp_path / "a.py", tmp_path / "b.py"
    first.write_text("old a\n")
    second.write_text("old b\n")
    real_replace = os.replace

    def replace(source: str, target: object) -> None:
        if Path(str(target)) == second:
            raise PermissionError(13, "Permission denied")
        real_replace(source, target)

    monkeypatch.setattr(output.os, "replace", replace)
    with pytest.raises(output.OutputError) as caught:
        output.write_all({first: "new a\n", second: "new b\n"})
    assert str(caught.value) == f"{second}: Permission denied"
    assert (first.read_text(), second.read_text()) == ("old a\n", "old b\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.py", "b.py"]  # no temporaries left


def test_new_files_get_the_umask_mode_and_rebuilt_files_keep_theirs(capsys, spec, tmp_path):
    out_dir = tmp_path / "out"
    old = os.umask(0o027)
    try:
        assert build(capsys, spec, "--out", out_dir)[0] == 0
        torch_file, keras_file = out_dir / "sched_torch.py", out_dir / "sched_keras.py"
        assert stat.S_IMODE(torch_file.stat().st_mode) == 0o640
        torch_file.chmod(0o644)
        keras_file.chmod(0o600)
        torch_file.write_text("# stale\n")
        assert build(capsys, spec, "--out", out_dir)[0] == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(torch_file.stat().st_mode) == 0o644
    assert stat.S_IMODE(keras_file.stat().st_mode) == 0o600
    assert torch_file.read_text() != "# stale\n"


def test_check_on_a_file_that_is_not_utf8_is_stale_not_a_crash(capsys, spec, tmp_path) -> None:
    out_dir = tmp_path / "out"
    assert build(capsys, spec, "--out", out_dir)[0] == 0
    (out_dir / "sched_torch.py").write_bytes(b"\xff\xfe not text")
    code, out, err = build(capsys, spec, "--out", out_dir, "--check")
    assert (code, err) == (1, "")
    assert out == (
        f"{out_dir / 'sched_torch.py'} (on disk) is not UTF-8 text; the build would replace it\n"
        "1 file(s) out of date; run lrgen build without --check\n"
    )


def test_check_with_a_directory_at_a_target_is_an_error_not_stale(capsys, spec, tmp_path):
    out_dir = tmp_path / "out"
    (out_dir / "sched_torch.py").mkdir(parents=True)
    code, out, err = build(capsys, spec, "--out", out_dir, "--check")
    assert (code, out) == (2, "")
    assert err == (
        f"lrgen build: {out_dir / 'sched_torch.py'}: is a directory, where the generated file "
        "should be\n"
    )


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [("my-lr.schedules.yaml", "my_lr_schedules.yaml"), ("1cycle.yaml", "spec_1cycle.yaml")],
)
def test_a_file_name_that_is_no_module_name_is_refused(capsys, tmp_path, name, suggestion):
    """A generated module is imported by name: ``my-lr.schedules_torch.py`` could not be."""
    path = tmp_path / name
    path.write_text(SPEC, encoding="utf-8")
    stem = name.rsplit(".", 1)[0]
    code, out, err = build(capsys, path, "--out", tmp_path / "out")
    assert (code, err) == (2, "")
    assert out == (
        f"{path}:1:1: $: the file name '{stem}' does not give importable Python modules "
        f"({stem}_torch.py); name the spec file like a Python module, e.g. {suggestion}\n"
    )
    assert not (tmp_path / "out").exists()


def test_a_non_utf8_file_name_is_shown_escaped(capsys, tmp_path) -> None:
    raw = os.fsencode(tmp_path) + b"/bad\xffname.yaml"
    with open(raw, "w", encoding="utf-8") as handle:
        handle.write("lrgen: [\n")
    name = os.fsdecode(raw)
    code = cli.main(["validate", name])
    out = capsys.readouterr().out
    assert code == 2
    assert out.startswith(f"{tmp_path}/bad\\xffname.yaml:2:1: $: invalid YAML: ")
    code, out, _ = build(capsys, name, "--out", tmp_path / "out")
    assert code == 2 and out.startswith(f"{tmp_path}/bad\\xffname.yaml:2:1: $: invalid YAML")


def test_generated_output_is_bounded(capsys, spec, tmp_path, monkeypatch) -> None:
    from lrgen import generate

    monkeypatch.setattr(generate, "MAX_OUTPUT_CHARS", 1000)
    code, out, err = build(capsys, spec, "--out", tmp_path / "out")
    assert (code, err) == (2, "")
    assert out.startswith(f"{spec}:1:1: $: the generated sched_torch.py would be ")
    assert out.endswith(
        " characters; lrgen writes at most 1,000 per module (shorten the descriptions or split "
        "the spec)\n"
    )
    assert not (tmp_path / "out").exists()


def test_plot_and_init_write_through_the_same_writer(capsys, tmp_path) -> None:
    target = tmp_path / "spec.yaml"
    old = os.umask(0o077)
    try:
        assert cli.main(["init", "-o", str(target)]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    (tmp_path / "dir.yaml").mkdir()
    assert cli.main(["init", "-o", str(tmp_path / "dir.yaml"), "--force"]) == 2
    assert capsys.readouterr().err.endswith(
        f"lrgen init: {tmp_path / 'dir.yaml'}: is a directory\n"
    )
