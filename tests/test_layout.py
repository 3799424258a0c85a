"""lrgen/layout.py, the line breaking of generated modules (no formatter at build time).

Invariants, on every module of the example specs (all targets), on modules of random specs
(tests/strategies.py) and on random long expressions: the layout never changes the ``ast``
(it cannot change behaviour), it is idempotent, and it leaves no line longer than the limit but
where an unbreakable atom (a long string or comment, a docstring line) makes one. Then pinned
layouts of each rule, and the build without ruff: byte-identical to the committed generated/.
"""

from __future__ import annotations

import ast
import io
import os
import subprocess
import sys
import tokenize
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrgen import generate
from lrgen.layout import LINE_LENGTH, layout
from lrgen.loader import load
from lrgen.printers import pystr
from tests.strategies import Case, cases

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "spec" / "examples").glob("*.yaml"))


def _raw(spec: object, target: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """The module as the templates render it (before the layout), and as lrgen writes it."""
    written = generate.render(spec, target)  # type: ignore[arg-type]
    with monkeypatch.context() as m:
        m.setattr(generate, "finish", lambda source: (source, ast.parse(source)))
        raw = generate.render(spec, target)  # type: ignore[arg-type]
    return raw, written


def _long_lines_ok(source: str, limit: int) -> list[str]:
    """The lines over ``limit`` that the layout could have broken: every line over it must be
    inside a string spanning lines, or hold a string or comment at least a third of the limit
    long (an atom the layout never splits)."""
    in_string: set[int] = set()
    atoms: dict[int, int] = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in (tokenize.STRING, tokenize.COMMENT):
            if tok.start[0] != tok.end[0]:
                in_string.update(range(tok.start[0], tok.end[0] + 1))
            atoms[tok.start[0]] = max(atoms.get(tok.start[0], 0), len(tok.string))
    return [
        line
        for row, line in enumerate(source.splitlines(), 1)
        if len(line) > limit and row not in in_string and atoms.get(row, 0) < limit // 3
    ]


def check_invariants(raw: str, limit: int = LINE_LENGTH) -> str:
    laid = layout(raw, limit)
    assert ast.dump(ast.parse(laid)) == ast.dump(ast.parse(raw))
    assert layout(laid, limit) == laid
    assert _long_lines_ok(laid, limit) == []
    return laid


# --- the generated modules ----------------------------------------------------------------------


@pytest.mark.parametrize("target", generate.TARGETS)
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_keep_their_ast(path: Path, target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    raw, written = _raw(load(str(path)), target, monkeypatch)
    assert check_invariants(raw) == written
    assert raw != written or target == "optax"  # the examples do need breaking (optax: some)
    assert all(len(line) <= LINE_LENGTH for line in written.splitlines() if '"""' not in line)


@pytest.mark.parametrize("target", generate.TARGETS)
def test_generated_code_style(target: str) -> None:
    """What templates and printers emit themselves: double-quoted strings only, and PEP 8's
    two blank lines before each top-level ``def``/``class`` (comment lines above it count as
    part of it), one before a method."""
    for path in EXAMPLES:
        source = generate.render(load(str(path)), target)
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.STRING:
                assert tok.string.lstrip("rbfRBF")[0] == '"', (path.name, tok.start, tok.string)
        lines = source.splitlines()
        for i, line in enumerate(lines):
            if (
                not line.lstrip().startswith(("def ", "class ", "@"))
                or lines[i - 1].lstrip()[:1] == "@"
            ):
                continue
            j = i - 1
            while lines[j].lstrip().startswith("#"):
                j -= 1
            blank = 0
            while not lines[j].strip():
                blank, j = blank + 1, j - 1
            nested = line.startswith(" ")
            want = (0, 1) if nested else (2,)
            assert blank in want and (blank or lines[j].rstrip().endswith(":")), (
                path.name,
                i + 1,
                line,
            )


@given(cases())
def test_random_specs_keep_their_ast(case: Case) -> None:
    for target in generate.TARGETS:
        with pytest.MonkeyPatch.context() as m:
            m.setattr(generate, "finish", lambda source: (source, ast.parse(source)))
            raw = generate.render(case.spec, target)
        assert check_invariants(raw) == generate.render(case.spec, target)


# --- random long expressions --------------------------------------------------------------------

_NAMES = st.sampled_from(["t", "c.lr", "warmup", "x1", "math.pi", "c.s1_T_max"])
_NUMBERS = st.sampled_from(["0.5", "1e-06", "2", "4000", "-1.0"])
_LEAVES = _NAMES | _NUMBERS | st.sampled_from(['"a string"', "f'{x!r} at {t}'", "True"])
_BINARY = ["+", "-", "*", "/", "//", "%", "**", "<", ">=", "==", "and", "or", "in", "not in", "is"]


def _expressions() -> st.SearchStrategy[str]:
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, st.sampled_from(_BINARY), inner).map(
                lambda p: f"{p[0]} {p[1]} {p[2]}"
            ),
            inner.map(lambda e: f"({e})"),
            inner.map(lambda e: f"-{e}"),
            inner.map(lambda e: f"not {e}"),
            st.tuples(inner, inner, inner).map(lambda p: f"{p[0]} if {p[1]} else {p[2]}"),
            st.tuples(_NAMES, st.lists(inner, max_size=4)).map(
                lambda p: f"{p[0]}({', '.join(p[1])})"
            ),
            st.tuples(_NAMES, inner).map(lambda p: f"torch.clamp({p[1]}, max={p[0]})"),
            st.lists(inner, min_size=1, max_size=3).map(lambda xs: f"[{', '.join(xs)}]"),
            st.tuples(_NAMES, inner).map(lambda p: f"{p[0]}[{p[1]}]"),
            st.tuples(inner, inner).map(lambda p: f"{{{p[0]}: {p[1]}}}"),
            inner.map(lambda e: f"({e},)"),
            inner.map(lambda e: f"sum({e} for x1 in t)"),
            inner.map(lambda e: f"lambda x1: {e}"),
        )

    return st.recursive(_LEAVES, extend, max_leaves=16).filter(_parses)


def _parses(expression: str) -> bool:
    try:
        ast.parse(expression)
    except SyntaxError:  # e.g. a lambda as an operand of ``in`` without parentheses
        return False
    return True


EXPRESSIONS = _expressions()


def _statements(expression: str) -> Iterator[str]:
    yield f"lr = {expression}\n"
    yield f"def f(t):\n    if t:\n        return {expression}\n    c.lr += {expression}\n"
    yield f"class K:\n    def g(self, *, a=1):  # a comment\n        _check({expression}, 'x')\n"
    yield f"if {expression}:\n    pass\n"


@given(EXPRESSIONS, st.integers(min_value=20, max_value=100))
def test_random_expressions_keep_their_ast(expression: str, limit: int) -> None:
    for source in _statements(expression):
        laid = layout(source, limit)
        assert ast.dump(ast.parse(laid)) == ast.dump(ast.parse(source)), laid
        assert layout(laid, limit) == laid


@given(st.lists(EXPRESSIONS, min_size=1, max_size=6))
def test_random_calls_fit(arguments: list[str]) -> None:
    """Calls and assignments of short atoms always fit in the limit once laid out."""
    source = f"value = compute({', '.join(arguments)})\n"
    laid = check_invariants(source, 100)
    assert max(len(line) for line in laid.splitlines()) <= 100 or '"a string"' in laid


# --- the rules, pinned --------------------------------------------------------------------------


def test_short_lines_are_left_alone() -> None:
    source = "x = f(a, b)  # fine\n\n\ndef g(x):\n    return x\n"
    assert layout(source) == source


def test_contents_on_one_line_when_they_fit() -> None:
    source = "result = some_function(" + ", ".join(f"argument_{i}" for i in range(5)) + ")\n"
    assert layout(source, 82) == source
    assert layout(source, 80) == (
        "result = some_function(\n"
        "    argument_0, argument_1, argument_2, argument_3, argument_4\n"
        ")\n"
    )
    assert layout(source, 60) == (
        "result = some_function(\n" + "".join(f"    argument_{i},\n" for i in range(5)) + ")\n"
    )


def test_one_item_per_line_with_a_trailing_comma() -> None:
    source = (
        "def f(self, optimizer: Optimizer, *, total_steps: float = 100000, last: int = -1)"
        " -> None:\n    pass\n"
    )
    assert layout(source, 60) == (
        "def f(\n"
        "    self,\n"
        "    optimizer: Optimizer,\n"
        "    *,\n"
        "    total_steps: float = 100000,\n"
        "    last: int = -1,\n"
        ") -> None:\n"
        "    pass\n"
    )


def test_no_comma_added_where_it_would_change_the_meaning() -> None:
    """A subscript, a parenthesized expression and a generator stay what they are."""
    for source in (
        "value = table[first_index_of_the_table + second_index_of_the_table * 3]\n",
        "value = (first_index_of_the_table + second_index_of_the_table * 3)\n",
        "value = sum(item_of_the_table * 3 for item_of_the_table in the_table_itself)\n",
    ):
        laid = check_invariants(source, 40)
        assert ",\n" not in laid, laid


def test_operator_split_wraps_the_right_hand_side() -> None:
    source = (
        "lr = c.lr * warmup_factor if t < c.milestone else c.eta_min + (c.lr - c.eta_min) * decay\n"
    )
    assert layout(source, 60) == (
        "lr = (\n"
        "    c.lr * warmup_factor\n"
        "    if t < c.milestone\n"
        "    else c.eta_min + (c.lr - c.eta_min) * decay\n"
        ")\n"
    )


def test_single_operator_before_a_bracket_splits_the_bracket() -> None:
    """``c.lr * (`` stays on the first line: the bracketed operand would not fit alone."""
    source = "def f():\n    lr = c.lr * (_power(c.d_model, -0.5) * _minimum(_power(t, -0.5), t))\n"
    assert check_invariants(source, 60) == (
        "def f():\n"
        "    lr = c.lr * (\n"
        "        _power(c.d_model, -0.5)\n"
        "        * _minimum(_power(t, -0.5), t)\n"
        "    )\n"
    )


def test_unary_minus_and_star_arguments_are_not_split() -> None:
    source = "value = function_name(-first_argument_value, *rest_of_the_values, **keyword_values)\n"
    laid = layout(source, 40)
    assert "-first_argument_value," in laid and "*rest_of_the_values," in laid
    assert "**keyword_values," in laid


def test_trailing_comment_moves_above_pragma_stays() -> None:
    source = (
        "if x:\n    value = function_name(first_argument_value, second_argument_value)  # why\n"
    )
    assert check_invariants(source, 60) == (
        "if x:\n"
        "    # why\n"
        "    value = function_name(\n"
        "        first_argument_value, second_argument_value\n"
        "    )\n"
    )
    pragma = "if x:\n    value = function_name(first_argument_value, second)  # type: ignore[x]\n"
    assert layout(pragma, 50) == pragma


def test_strings_and_docstrings_are_never_split() -> None:
    source = f'x = f("{"s" * 120}")\n\n\ndef g():\n    """{"d " * 60}\n    more\n    """\n'
    laid = layout(source)
    assert f'    "{"s" * 120}"\n' in laid
    assert f'    """{"d " * 60}\n' in laid
    assert check_invariants(source) == laid


def test_statement_written_over_several_lines_is_joined_first() -> None:
    source = (
        "def f(\n    self, "
        + ", ".join(f"a{i}: int = {i}" for i in range(12))
        + "\n) -> None:\n    pass\n"
    )
    laid = check_invariants(source, 100)
    assert laid.splitlines()[:3] == ["def f(", "    self,", "    a0: int = 0,"]


def test_blank_lines() -> None:
    source = (
        "\n\nimport os\n\n\n\n\ndef f():\n    x = 1\n\n\n    return x\n\n\n\n"
        "S = '''a\n\n\n\nb'''\n\n"
    )
    assert layout(source) == (
        "import os\n\n\ndef f():\n    x = 1\n\n    return x\n\n\nS = '''a\n\n\n\nb'''\n"
    )


def test_fstring_is_one_atom() -> None:
    source = (
        'raise ValueError(f"{schedule}: step {t} is negative; steps count from 0 {x!r}", '
        "extra_argument)\n"
    )
    laid = check_invariants(source, 60)
    assert '    f"{schedule}: step {t} is negative; steps count from 0 {x!r}",\n' in laid


def test_pystr_round_trips_in_double_quotes() -> None:
    for text in ["a", "it's", 'say "x"', "back\\slash", "\n\t\x00é\u2028", "'\""]:
        printed = pystr(text)
        assert printed.startswith('"') and printed.endswith('"')
        assert ast.literal_eval(printed) == text
    assert pystr("it's") == '"it\'s"'
    assert pystr('say "x"') == '"say \\"x\\""'


# --- no formatter at build time -----------------------------------------------------------------


def test_build_without_ruff_is_byte_identical(tmp_path: Path) -> None:
    """With a ``ruff`` that cannot be imported or run (a package shadowing it that raises, and
    its directory off PATH), the build equals the committed generated/ files (the README's
    build): nothing of lrgen needs ruff."""
    shadow = tmp_path / "shadow" / "ruff"
    shadow.mkdir(parents=True)
    for name in ("__init__.py", "__main__.py"):
        (shadow / name).write_text("raise ImportError('no ruff here')\n", encoding="utf-8")
    out = tmp_path / "out"
    bin_dir = Path(sys.executable).parent
    path = os.pathsep.join(
        p for p in os.environ.get("PATH", "").split(os.pathsep) if Path(p) != bin_dir
    )
    env = {**os.environ, "PATH": path, "PYTHONPATH": str(shadow.parent)}
    code = "import sys; from lrgen.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.run(
        [sys.executable, "-c", code, "build", *map(str, EXAMPLES), "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    check = subprocess.run(
        [sys.executable, "-c", "import ruff"], env=env, capture_output=True, text=True, check=False
    )
    assert "no ruff here" in check.stderr  # the shadow works
    built = sorted(out.glob("*.py"))
    assert [p.name for p in built] == sorted(p.name for p in (ROOT / "generated").glob("*.py"))
    for p in built:
        assert p.read_bytes() == (ROOT / "generated" / p.name).read_bytes(), p.name


def test_lrgen_never_mentions_running_ruff() -> None:
    """No module of lrgen imports ruff or runs it in a subprocess."""
    for path in sorted((ROOT / "lrgen").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                assert all(a.name.split(".")[0] != "ruff" for a in node.names), path
            if isinstance(node, ast.ImportFrom):
                assert (node.module or "").split(".")[0] != "ruff", path
            if isinstance(node, ast.Constant) and node.value == "ruff":
                raise AssertionError(f"{path}:{node.lineno}: the string 'ruff'")
