"""The corpus of bad specs in tests/bad_specs: each file fails `lrgen validate` exactly as stated.

A YAML file states its expectations in its first lines, one per problem::

    # expect: LINE:COL: JSON.PATH: message substring

Files that cannot carry a comment (JSON, binary, empty) are listed in SIDECAR. The test runs
``lrgen.cli.main(["validate", FILE])`` and checks the exit code, and that the output is exactly
the expected problems: same count, same line:col and path, message containing the substring.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lrgen import cli

CORPUS = Path(__file__).parent / "bad_specs"
EXPECT = re.compile(r"# expect: (\d+):(\d+): (.+?): (.+)")
LINE = re.compile(r"(\d+):(\d+): (.+?): (.+)")

#: name -> [(line, column, path, message substring)] for files without comments.
SIDECAR: dict[str, list[tuple[int, int, str, str]]] = {
    "json_syntax.json": [(6, 54, "$", "invalid JSON: expected a string key in double quotes")],
    "json_nan.json": [
        (4, 21, "schedules.decay.lr", "NaN is not a finite number"),
        (4, 73, "schedules.decay.schedule.gamma", "-Infinity is not a finite number"),
    ],
    "json_duplicate.json": [
        (6, 7, "schedules.decay.lr", "duplicate key 'lr' (first defined at line 5)"),
    ],
    "json_unknown_param.json": [
        (
            6,
            63,
            "schedules.decay.schedule.eta_mni",
            "unknown parameter 'eta_mni'; did you mean 'eta_min'?",
        ),
    ],
    "json_expression.json": [
        (7, 62, "schedules.decay.schedule.lr_lambda", "unknown name 'totl'"),
    ],
    "json_top_level_list.json": [(1, 1, "$", "expected a mapping, got a list")],
    "json_trailing_data.json": [(2, 1, "$", "extra data after the JSON document")],
    "json_single_quotes.json": [(1, 2, "$", "expected a string key in double quotes")],
    "empty.yaml": [(1, 1, "$", "the file is empty")],
    "whitespace_only.yaml": [(1, 1, "$", "the file is empty")],
    "binary.yaml": [(1, 1, "$", "the file is not UTF-8 text: byte 0x89 is invalid")],
    "nul_byte.yaml": [(2, 11, "$", "the file is binary (it contains a NUL byte)")],
    "utf16.yaml": [(1, 1, "$", "the file is UTF-16; save it as UTF-8")],
    "json_cr_only.json": [  # lines end in a lone CR: still four lines
        (4, 17, "schedules.s.schedule", "missing required property 'gamma'"),
        (4, 43, "schedules.s.schedule.gama", "unknown parameter 'gama'; did you mean 'gamma'?"),
    ],
    "json_surrogate.json": [
        (1, 49, "schedules.s.description", "the string holds \\udc00, half of a surrogate pair"),
    ],
}

#: Files whose content would do something if it were ever executed.
SIDE_EFFECT_MARKER = Path("/tmp/lrgen-bad-spec-pwned")


def expectations(path: Path) -> list[tuple[int, int, str, str]]:
    if path.name in SIDECAR:
        return SIDECAR[path.name]
    found = []
    for raw in path.read_bytes().splitlines():
        match = EXPECT.fullmatch(raw.decode("ascii", "replace"))
        if not match:
            break
        line, column, json_path, message = match.groups()
        found.append((int(line), int(column), json_path, message))
    return found


FILES = sorted(CORPUS.iterdir())


def test_the_corpus_is_large_and_every_file_states_its_expectation() -> None:
    assert len(FILES) >= 35
    assert not [f.name for f in FILES if not expectations(f)]
    assert set(SIDECAR) <= {f.name for f in FILES}


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_bad_spec(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected = expectations(path)
    code = cli.main(["validate", str(path)])
    out = capsys.readouterr().out
    assert code == 2, out
    lines = out.splitlines()
    assert lines == sorted(lines, key=_position_key)
    got = []
    for text in lines:
        assert text.startswith(f"{path}:"), text
        match = LINE.fullmatch(text[len(f"{path}:") :])
        assert match, text
        line, column, json_path, message = match.groups()
        got.append((int(line), int(column), json_path, message))
    assert len(got) == len(expected), out
    for (line, column, json_path, message), want in zip(got, sorted(expected), strict=True):
        assert (line, column, json_path) == want[:3], out
        assert want[3] in message, out


def _position_key(text: str) -> tuple[int, int]:
    match = re.search(r":(\d+):(\d+): ", text)
    assert match
    return int(match.group(1)), int(match.group(2))


@pytest.mark.parametrize("name", ["tag_python_apply.yaml", "expr_import.yaml"])
def test_hostile_content_is_never_executed(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert b"touch /tmp/lrgen-bad-spec-pwned" in (CORPUS / name).read_bytes()
    SIDE_EFFECT_MARKER.unlink(missing_ok=True)
    assert cli.main(["validate", str(CORPUS / name)]) == 2
    assert not SIDE_EFFECT_MARKER.exists()
    assert capsys.readouterr().out.count("\n") == 1


def test_unsafe_yaml_would_have_run_the_payload(tmp_path: Path) -> None:
    """The hostile file is a live payload: PyYAML's unsafe loader runs it (here redirected to a
    private file, so that tests running in parallel never see the marker)."""
    yaml = pytest.importorskip("yaml")
    marker = tmp_path / "pwned"
    text = (CORPUS / "tag_python_apply.yaml").read_text()
    yaml.unsafe_load(text.replace(str(SIDE_EFFECT_MARKER), str(marker)))
    assert marker.exists()
