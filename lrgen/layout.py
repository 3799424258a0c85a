"""lrgen's own line breaking for generated modules: no formatter is needed at build time.

Templates and printers emit nearly finished code (double-quoted strings, PEP 8 blank lines,
one item per line where a list is known to be long); what they cannot know is how long a
printed formula, a signature or a call will be. :func:`layout` breaks the lines that are too
long, deterministically, using :mod:`tokenize` tokens, and touches nothing else. The rules are
our own, close to black's:

* A statement (a logical line) is laid out again only when one of its physical lines is longer
  than ``line_length`` (:data:`LINE_LENGTH`). A statement with a comment inside its brackets,
  or a string spanning lines (a docstring), is left as it is; a trailing comment moves to a
  line of its own above the statement (a pragma such as ``# type:`` or ``# noqa`` keeps the
  statement unbroken instead). A statement written over several lines is first joined into
  one.
* **Bracket split**: the statement is cut at a top-level bracket pair with something inside:
  the last one whose head (up to and including the opening bracket) and tail (from the closing
  bracket) fit. The contents go on one line indented four more spaces if they fit there; else
  one comma-separated item per line, each followed by a comma (a trailing comma is added only
  where the contents already hold a top-level comma, so a subscript, a parenthesized
  expression or a generator keeps its meaning). An item that is still too long is laid out by
  the same rules, recursively.
* **Operator split**: a statement or item whose top-level expression has operators is split
  before each operator of its lowest precedence (``if``/``else`` of a conditional expression
  lowest, then ``or``, ``and``, comparisons, ``|``, ``^``, ``&``, shifts, ``+``/``-``,
  ``*``/``/``/``//``/``%``/``@``, ``**``; unary ``-``/``+``/``not`` and ``*args`` are not binary
  operators; in a comprehension, before its ``for`` and ``if`` clauses instead), each part on
  its own line at the same indentation, and each part laid out again if still too long.
  Outside brackets a line cannot break, so the right-hand side of an assignment, a ``return``
  value and an ``if``/``elif``/``while`` condition are first wrapped in parentheses (on one
  line inside them when that fits).
* Which applies: an expression without operators takes the bracket split; one with several
  operators, or a conditional, boolean or comparison one, the operator split; one with a single
  arithmetic operator the operator split when both operands then fit on their lines, else the
  bracket split (``lr = c.lr * (`` and the long operand inside).
* Strings, comments and names are never split: a line that cannot be broken stays long.
* Blank lines between statements: at most two in a row before top-level code, one inside a
  block, none at the start or the end of the module (blank lines within a statement, as in a
  string, are kept).

Only whitespace changes, plus parentheses around a whole right-hand side, condition or return
value, and trailing commas after the last of several items: the module's ``ast`` is unchanged,
which tests/test_layout.py checks for every generated module and for random expressions, with
``layout(layout(x)) == layout(x)``.
"""

from __future__ import annotations

import ast
import bisect
import io
import itertools
import keyword
import tokenize
from dataclasses import dataclass

LINE_LENGTH = 100
INDENT = "    "

_OPEN = {"(": ")", "[": "]", "{": "}"}
_CLOSE = frozenset(_OPEN.values())
#: Binary operators (tokens) -> precedence, lowest first (conditional 1, ``or`` 2, ...).
_BINARY = {
    "or": 2,
    "and": 3,
    "<": 5,
    ">": 5,
    "<=": 5,
    ">=": 5,
    "==": 5,
    "!=": 5,
    "|": 6,
    "^": 7,
    "&": 8,
    "<<": 9,
    ">>": 9,
    "+": 10,
    "-": 10,
    "*": 11,
    "/": 11,
    "//": 11,
    "%": 11,
    "@": 11,
    "**": 13,
}
_CLAUSE = 0  # ``for`` and ``if`` of a comprehension
_CONDITIONAL = 1
_COMPARISON = 5
_ASSIGN = frozenset(
    {"=", "+=", "-=", "*=", "/=", "//=", "%=", "@=", "&=", "|=", "^=", ">>=", "<<=", "**="}
)
#: Names after which a ``-`` is unary (keywords that are not values).
_OPERAND_KEYWORDS = frozenset({"True", "False", "None"})
_PRAGMAS = ("# type:", "# noqa", "# fmt:", "# pragma", "# ruff:", "# pyright:", "# mypy:")


@dataclass(frozen=True)
class _Atom:
    kind: int  # a tokenize type
    text: str
    row: int  # first row, 1-based
    col: int
    end_row: int
    end_col: int


class _Line:
    """One logical line's atoms (an f-string is one atom) and how to print ranges of them."""

    def __init__(self, atoms: list[_Atom], lines: list[str]) -> None:
        self.atoms = atoms
        self.gaps = [""]
        for prev, atom in itertools.pairwise(atoms):
            if prev.end_row == atom.row:
                self.gaps.append(lines[atom.row - 1][prev.end_col : atom.col])
            elif prev.text in _OPEN or atom.text in _CLOSE or atom.text == ",":
                self.gaps.append("")
            else:
                self.gaps.append(" ")
        self.pair: dict[int, int] = {}
        stack: list[int] = []
        self.depth: list[int] = []
        for i, atom in enumerate(atoms):
            if atom.text in _CLOSE and atom.kind == tokenize.OP and stack:
                self.pair[stack.pop()] = i
            self.depth.append(len(stack))
            if atom.text in _OPEN and atom.kind == tokenize.OP:
                stack.append(i)

    def text(self, a: int, b: int) -> str:
        if a >= b:
            return ""
        parts = [self.atoms[a].text]
        for i in range(a + 1, b):
            parts += [self.gaps[i], self.atoms[i].text]
        return "".join(parts)

    def top(self, a: int, b: int) -> list[int]:
        """The indices in ``[a, b)`` at the depth of ``a`` (outside any bracket of the range)."""
        base = self.depth[a] if a < b else 0
        return [i for i in range(a, b) if self.depth[i] == base]

    def is_name(self, i: int, word: str) -> bool:
        atom = self.atoms[i]
        return atom.kind == tokenize.NAME and atom.text == word

    def operand_end(self, i: int) -> bool:
        """Whether atom ``i`` ends an operand (so that a following ``-`` is binary)."""
        atom = self.atoms[i]
        if atom.kind in (tokenize.NUMBER, tokenize.STRING):
            return True
        if atom.kind == tokenize.NAME:
            return not keyword.iskeyword(atom.text) or atom.text in _OPERAND_KEYWORDS
        return atom.kind == tokenize.OP and atom.text in _CLOSE

    def operators(self, a: int, b: int) -> list[tuple[int, int, int]]:
        """The top-level binary operators of ``[a, b)``: (index, token count, precedence)."""
        found: list[tuple[int, int, int]] = []
        top = self.top(a, b)
        if any(self.is_name(i, "lambda") for i in top):
            return []  # a lambda's body stays with its parameters
        clauses = [i for i in top if i > a and self.is_name(i, "for")]
        if clauses:  # a comprehension: split before its ``for`` and ``if`` clauses only
            first = clauses[0]
            if self.is_name(first - 1, "async"):
                clauses[0] = first - 1
            clauses += [i for i in top if i > first and self.is_name(i, "if")]
            return [(i, 1, _CLAUSE) for i in sorted(clauses)]
        for i in top:
            if i == a or not self.operand_end(i - 1):
                continue
            atom = self.atoms[i]
            if atom.kind == tokenize.NAME:
                if atom.text in ("if", "else"):
                    found.append((i, 1, _CONDITIONAL))
                elif atom.text in ("or", "and"):
                    found.append((i, 1, _BINARY[atom.text]))
                elif atom.text == "in":
                    found.append((i, 1, _COMPARISON))
                elif atom.text == "not" and i + 1 < b and self.is_name(i + 1, "in"):
                    found.append((i, 2, _COMPARISON))
                elif atom.text == "is":
                    count = 2 if i + 1 < b and self.is_name(i + 1, "not") else 1
                    found.append((i, count, _COMPARISON))
            elif atom.kind == tokenize.OP and atom.text in _BINARY:
                found.append((i, 1, _BINARY[atom.text]))
        return found

    def commas(self, a: int, b: int) -> list[int]:
        return [i for i in self.top(a, b) if self.atoms[i].text == ","]

    def pairs(self, a: int, b: int) -> list[tuple[int, int]]:
        """Top-level bracket pairs of ``[a, b)`` with something inside, last first."""
        found = []
        for i in self.top(a, b):
            close = self.pair.get(i)
            if close is not None and close < b and close > i + 1:
                found.append((i, close))
        return found[::-1]


class _Printer:
    def __init__(self, line: _Line, limit: int) -> None:
        self.line = line
        self.limit = limit

    def fits(self, text: str) -> bool:
        return len(text) <= self.limit

    def best_pair(self, indent: str, a: int, b: int, suffix: str) -> tuple[int, int] | None:
        for o, c in self.line.pairs(a, b):
            head = indent + self.line.text(a, o + 1)
            tail = indent + self.line.text(c, b) + suffix
            if self.fits(head) and self.fits(tail):
                return o, c
        return None

    def prefers_operators(
        self,
        indent: str,
        a: int,
        b: int,
        ops: list[tuple[int, int, int]],
        pair: tuple[int, int] | None,
        suffix: str,
    ) -> bool:
        """The operator split, unless there is a single arithmetic operator, a bracket pair to
        split, and an operand that does not fit on a line of its own."""
        if not ops:
            return False
        if pair is None or len(ops) > 1 or ops[0][2] <= _COMPARISON:
            return True
        cut = ops[0][0]
        first = indent + self.line.text(a, cut)
        second = indent + self.line.text(cut, b) + suffix
        return self.fits(first) and self.fits(second)

    def statement(self, indent: str, a: int, b: int) -> list[str]:
        line = self.line
        whole = indent + line.text(a, b)
        if self.fits(whole):
            return [whole]
        start, end = self.region(a, b)
        pair = self.best_pair(indent, a, b, "")
        if start is not None:
            ops = line.operators(start, end)
            if self.prefers_operators(indent + INDENT, start, end, ops, pair, ""):
                head = indent + line.text(a, start) + " ("
                tail = indent + ")" + line.text(end, b)
                inner = indent + INDENT
                if self.fits(head) and self.fits(tail):
                    one = inner + line.text(start, end)
                    if self.fits(one):
                        return [head, one, tail]
                    return [head, *self.operator_split(inner, start, end, 0, ""), tail]
        if pair is not None:
            return self.bracket_split(indent, a, b, pair, "")
        return [whole]

    def region(self, a: int, b: int) -> tuple[int | None, int]:
        """The expression that may be wrapped in parentheses: an assignment's right-hand side,
        a ``return`` value, an ``if``/``elif``/``while`` condition (None when there is none,
        or it is a tuple, which the parentheses would still be but a reader would not see)."""
        line = self.line
        top = line.top(a, b)
        start: int | None = None
        end = b
        first = line.atoms[a]
        if first.kind == tokenize.NAME and first.text == "return":
            start = a + 1
        elif first.kind == tokenize.NAME and first.text in ("if", "elif", "while"):
            if line.atoms[b - 1].text == ":":
                start, end = a + 1, b - 1
        else:
            assigns = [i for i in top if line.atoms[i].kind == tokenize.OP]
            assigns = [i for i in assigns if line.atoms[i].text in _ASSIGN]
            if assigns:
                start = assigns[-1] + 1
        if start is None or start >= end or line.commas(start, end):
            return None, end
        if any(line.atoms[i].text in ("yield", "await", "*") for i in (start,)):
            return None, end
        return start, end

    def item(self, indent: str, a: int, b: int, lead: int, suffix: str) -> list[str]:
        line = self.line
        whole = indent + line.text(a, b) + suffix
        if self.fits(whole):
            return [whole]
        ops = line.operators(a + lead, b)
        pair = self.best_pair(indent, a, b, suffix)
        if self.prefers_operators(indent, a, b, ops, pair, suffix):
            return self.operator_split(indent, a, b, lead, suffix)
        if pair is not None:
            return self.bracket_split(indent, a, b, pair, suffix)
        return [whole]

    def operator_split(self, indent: str, a: int, b: int, lead: int, suffix: str) -> list[str]:
        ops = self.line.operators(a + lead, b)
        if not ops:
            return self.item(indent, a, b, lead, suffix)
        lowest = min(p for _, _, p in ops)
        cuts = [(i, n) for i, n, p in ops if p == lowest]
        lines: list[str] = []
        starts = [(a, lead), *cuts]
        for k, (s, n) in enumerate(starts):
            e = starts[k + 1][0] if k + 1 < len(starts) else b
            last = k + 1 == len(starts)
            lines += self.item(indent, s, e, n, suffix if last else "")
        return lines

    def bracket_split(
        self, indent: str, a: int, b: int, pair: tuple[int, int], suffix: str
    ) -> list[str]:
        line = self.line
        o, c = pair
        head = indent + line.text(a, o + 1)
        tail = indent + line.text(c, b) + suffix
        inner = indent + INDENT
        one = inner + line.text(o + 1, c)
        if self.fits(one):
            return [head, one, tail]
        commas = line.commas(o + 1, c)
        bounds = [o, *commas]
        items = [(s + 1, e) for s, e in zip(bounds, [*commas, c], strict=True)]
        if items and items[-1][0] == c:
            items.pop()  # a trailing comma: every item gets one below
        body: list[str] = []
        for k, (s, e) in enumerate(items):
            comma = "," if commas else ""
            body += self.item(inner, s, e, 0, comma if k + 1 == len(items) else ",")
        return [head, *body, tail]


def _atoms(tokens: list[tokenize.TokenInfo], lines: list[str]) -> list[_Atom]:
    """Tokens as atoms: an f-string (split into parts by Python 3.12's tokenizer) is one."""
    atoms: list[_Atom] = []
    nested = 0
    start: tokenize.TokenInfo | None = None
    fstring_start = getattr(tokenize, "FSTRING_START", -1)
    fstring_end = getattr(tokenize, "FSTRING_END", -1)
    for tok in tokens:
        if tok.type == fstring_start:
            if nested == 0:
                start = tok
            nested += 1
            continue
        if nested:
            if tok.type == fstring_end:
                nested -= 1
                if nested == 0 and start is not None:
                    (row, col), (end_row, end_col) = start.start, tok.end
                    if row == end_row:
                        text = lines[row - 1][col:end_col]
                    else:
                        text = "".join(lines[row - 1 : end_row])[col:]
                        text = text[: len(text) - len(lines[end_row - 1]) + end_col]
                    atoms.append(_Atom(tokenize.STRING, text, row, col, end_row, end_col))
            continue
        atoms.append(_Atom(tok.type, tok.string, *tok.start, *tok.end))
    return atoms


def _structure(source: str, tree: ast.Module | None = None) -> tuple[list[int], set[int]]:
    """The rows where statements (and decorators) start, sorted; and the rows that are blank
    lines only if they lie between statements: the rows of each statement but its first (a
    compound statement's header up to its body), which may be inside a string. From the
    ``ast``'s statements: parsing in C is much faster than tokenizing the whole module."""
    starts: set[int] = set()
    inside: set[int] = set()
    nodes: list[ast.AST] = [tree if tree is not None else ast.parse(source)]
    while nodes:
        node = nodes.pop()
        children: list[ast.AST] = []
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            value = getattr(node, name, None)
            if isinstance(value, list):
                children += value
        nodes += children
        if isinstance(node, ast.stmt | ast.excepthandler):
            starts.add(node.lineno)
            starts.update(d.lineno for d in getattr(node, "decorator_list", ()))
            firsts = [c.lineno for c in children if isinstance(c, ast.stmt | ast.excepthandler)]
            end = min(firsts) - 1 if firsts else (node.end_lineno or node.lineno)
            inside.update(range(node.lineno + 1, end + 1))
    return sorted(starts), inside


def _logical_line(lines: list[str], start: int) -> tuple[list[tokenize.TokenInfo], int]:
    """The tokens of the logical line that starts at row ``start`` (NEWLINE, INDENT and the
    like left out; their rows counted from ``start``, which is row 1), and its last row (as in
    ``lines``)."""
    index = start - 1

    def readline() -> str:  # no copy of the rest of the module per statement
        nonlocal index
        index += 1
        return lines[index - 1] if index <= len(lines) else ""

    tokens: list[tokenize.TokenInfo] = []
    skip = (tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING)
    for tok in tokenize.generate_tokens(readline):
        if tok.type == tokenize.NEWLINE or tok.type == tokenize.ENDMARKER:
            return tokens, tok.start[0] + start - 1
        if tok.type in skip or (not tokens and tok.type in (tokenize.NL, tokenize.COMMENT)):
            continue
        tokens.append(tok)
    return tokens, len(lines)


def layout(source: str, line_length: int = LINE_LENGTH, tree: ast.Module | None = None) -> str:
    """``source`` with every statement longer than ``line_length`` broken, and runs of blank
    lines cut to PEP 8's most: two before top-level code, one inside a block, none at the start
    and the end of the module (blank lines inside strings are text, kept). See the module
    docstring for the rules. ``tree``: ``ast.parse(source)``, when the caller has it already
    (parsing is most of the cost on a large module; the result has the same tree)."""
    lines = io.StringIO(source).readlines()
    starts, inside = _structure(source, tree)
    replace: dict[int, tuple[int, list[str]]] = {}
    done = 0  # the last row of the last statement looked at
    for row, text in enumerate(lines, 1):
        if row <= done or len(text.rstrip("\r\n")) <= line_length:
            continue
        first = starts[bisect.bisect_right(starts, row) - 1] if starts and starts[0] <= row else 0
        if first == 0 or first <= done:
            continue
        tokens, last = _logical_line(lines, first)
        done = last
        if not tokens or last < row:
            continue  # a comment line between statements
        laid = _statement(tokens, lines[first - 1 : last], line_length)
        if laid is not None:
            ending = "\r\n" if lines[last - 1].endswith("\r\n") else "\n"
            replace[first] = (last, [text + ending for text in laid])
    out: list[str] = []
    blank: list[str] = []
    row = 1
    while row <= len(lines):
        text = lines[row - 1]
        if not text.strip() and row not in inside:
            blank.append(text)
            row += 1
            continue
        if out:
            out += blank[: 1 if text[:1] in (" ", "\t") else 2]
        blank = []
        if row in replace:
            last, laid = replace[row]
            out += laid
            row = last + 1
        else:
            out.append(text)
            row += 1
    return "".join(out)


def _statement(
    tokens: list[tokenize.TokenInfo], lines: list[str], line_length: int
) -> list[str] | None:
    """The statement laid out, or None to leave it as it is."""
    comment = None
    if tokens[-1].type == tokenize.COMMENT:
        comment = tokens[-1].string
        tokens = tokens[:-1]
        if comment.startswith(_PRAGMAS):
            return None
    for tok in tokens:
        if tok.type == tokenize.COMMENT:
            return None  # a comment inside the statement's brackets
        if tok.type == tokenize.STRING and tok.start[0] != tok.end[0]:
            return None
    tokens = [tok for tok in tokens if tok.type != tokenize.NL]
    if not tokens:
        return None
    atoms = _atoms(tokens, lines)
    if any(atom.row != atom.end_row for atom in atoms):
        return None
    first = lines[atoms[0].row - 1]
    indent = first[: len(first) - len(first.lstrip(" \t"))]
    line = _Line(atoms, lines)
    laid = _Printer(line, line_length).statement(indent, 0, len(atoms))
    return [indent + comment, *laid] if comment else laid
