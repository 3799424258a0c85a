"""The expression language of specs (docs/spec.md, "Expressions"): parse -> whitelisted tree ->
evaluate.

An expression string is parsed with :func:`ast.parse` and converted node by node into the small
frozen tree below; anything outside the whitelist is rejected with the column it starts at. The
text is never ``eval``-ed and never pasted into generated code: the code generator prints the tree.

Grammar: numbers; names (declared params, a counter such as ``t`` where one is in scope, ``x`` in
``scale_fn``, the constants ``pi`` and ``e``); ``+ - * / // % **``; unary ``-``/``+``; parentheses;
``a if cond else b`` whose condition is one comparison; the functions in :data:`FUNCTIONS`.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from lrgen.kinds import MAX_INT

#: Function name -> number of arguments (``None``: two or more, for min/max).
FUNCTIONS: Mapping[str, int | None] = {
    "min": None,
    "max": None,
    "abs": 1,
    "floor": 1,
    "ceil": 1,
    "exp": 1,
    "log": 1,
    "sqrt": 1,
    "cos": 1,
    "sin": 1,
    "tanh": 1,
}
CONSTANTS: Mapping[str, float] = {"pi": math.pi, "e": math.e}
BINARY_OPS = ("+", "-", "*", "/", "//", "%", "**")
COMPARE_OPS = ("<", "<=", ">", ">=", "==", "!=")
MAX_LENGTH = 1000
MAX_DEPTH = 50

_AST_BINOPS = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
}
_AST_CMPOPS = {
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
}


@dataclass(frozen=True, slots=True)
class Num:
    value: float | int


@dataclass(frozen=True, slots=True)
class Name:
    id: str


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "-" or "+"
    operand: Expr


@dataclass(frozen=True, slots=True)
class Binary:
    op: str  # one of BINARY_OPS
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Call:
    func: str  # one of FUNCTIONS
    args: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Compare:
    op: str  # one of COMPARE_OPS
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class IfElse:
    test: Compare
    body: Expr
    orelse: Expr


Expr = Num | Name | Unary | Binary | Call | IfElse


class ExprError(ValueError):
    """A problem in an expression string; ``offset`` is the 0-based column inside the string."""

    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.offset = offset
        self.message = message


def parse(text: str, names: frozenset[str] | set[str] = frozenset()) -> Expr:
    """Parse ``text`` into an expression tree whose free names are all in ``names`` or constants.

    Raises :class:`ExprError` pointing at the first offending column.
    """
    if len(text) > MAX_LENGTH:
        raise ExprError(0, f"expression is longer than {MAX_LENGTH} characters")
    if "\n" in text or "\r" in text:
        raise ExprError(
            text.find("\n") if "\n" in text else text.find("\r"), "expression must be on one line"
        )
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as err:
        offset = max((err.offset or 1) - 1, 0)
        raise ExprError(min(offset, len(text)), f"invalid syntax: {err.msg}") from None
    allowed = frozenset(names) | frozenset(CONSTANTS)
    return _convert(tree.body, allowed, 0)


def _convert(node: ast.AST, names: frozenset[str], depth: int) -> Expr:
    col = getattr(node, "col_offset", 0)
    if depth > MAX_DEPTH:
        raise ExprError(col, f"expression is nested deeper than {MAX_DEPTH} levels")
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ExprError(col, f"{type(value).__name__} literals are not allowed, only numbers")
        if isinstance(value, float) and not math.isfinite(value):
            raise ExprError(col, "number is not finite")
        if isinstance(value, int) and abs(value) > MAX_INT:
            raise ExprError(col, "integer literal is too large: integers are limited to 2**53")
        return Num(value)
    if isinstance(node, ast.Name):
        if node.id not in names:
            return _unknown_name(node.id, col, names)
        return Name(node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        operand = _convert(node.operand, names, depth + 1)
        op = "-" if isinstance(node.op, ast.USub) else "+"
        if isinstance(operand, Num):  # fold "-3" into a literal
            return Num(-operand.value if op == "-" else operand.value)
        return Unary(op, operand)
    if isinstance(node, ast.BinOp) and type(node.op) in _AST_BINOPS:
        return Binary(
            _AST_BINOPS[type(node.op)],
            _convert(node.left, names, depth + 1),
            _convert(node.right, names, depth + 1),
        )
    if isinstance(node, ast.IfExp):
        test = node.test
        if not (
            isinstance(test, ast.Compare)
            and len(test.ops) == 1
            and type(test.ops[0]) in _AST_CMPOPS
        ):
            raise ExprError(
                getattr(test, "col_offset", col),
                "the condition of 'if' must be one comparison (<, <=, >, >=, ==, !=)",
            )
        return IfElse(
            Compare(
                _AST_CMPOPS[type(test.ops[0])],
                _convert(test.left, names, depth + 1),
                _convert(test.comparators[0], names, depth + 1),
            ),
            _convert(node.body, names, depth + 1),
            _convert(node.orelse, names, depth + 1),
        )
    if isinstance(node, ast.Call):
        return _convert_call(node, names, depth)
    _innermost_problem(node, names, depth)
    raise ExprError(col, f"{_describe(node)} is not allowed in an expression")


def _innermost_problem(node: ast.AST, names: frozenset[str], depth: int) -> None:
    """Report a problem inside ``node`` first (``__import__`` in ``__import__('os').system``)."""
    if isinstance(node, ast.Attribute):
        _convert(node.value, names, depth + 1)
        dot = (node.end_col_offset or node.col_offset) - len(node.attr) - 1
        raise ExprError(
            max(dot, node.col_offset),
            f"attribute access '.{node.attr}' is not allowed in an expression",
        )
    if isinstance(node, ast.Subscript):
        _convert(node.value, names, depth + 1)


def _convert_call(node: ast.Call, names: frozenset[str], depth: int) -> Expr:
    col = node.col_offset
    if not isinstance(node.func, ast.Name):
        _innermost_problem(node.func, names, depth)
        raise ExprError(col, f"calling {_describe(node.func)} is not allowed in an expression")
    func = node.func.id
    if func not in FUNCTIONS:
        allowed = ", ".join(sorted(FUNCTIONS))
        raise ExprError(col, f"call of unknown function {func!r}; allowed: {allowed}")
    if node.keywords:
        raise ExprError(
            node.keywords[0].value.col_offset - len(node.keywords[0].arg or "") - 1,
            f"{func}() takes no keyword arguments",
        )
    for arg in node.args:
        if isinstance(arg, ast.Starred):
            raise ExprError(arg.col_offset, "argument unpacking is not allowed in an expression")
    arity = FUNCTIONS[func]
    count = len(node.args)
    if arity is None and count < 2:
        raise ExprError(col, f"{func}() takes at least 2 arguments, got {count}")
    if arity is not None and count != arity:
        raise ExprError(col, f"{func}() takes {arity} argument, got {count}")
    return Call(func, tuple(_convert(a, names, depth + 1) for a in node.args))


def _unknown_name(name: str, col: int, names: frozenset[str]) -> Expr:
    if name in FUNCTIONS:
        raise ExprError(col, f"{name!r} is a function; call it as {name}(...)")
    known = sorted(names - frozenset(CONSTANTS))
    hint = f"; known names: {', '.join(known)}" if known else "; no params are declared"
    raise ExprError(col, f"unknown name {name!r}{hint}")


_DESCRIPTIONS = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscript",
    ast.Lambda: "lambda",
    ast.Compare: "a comparison outside 'a if cond else b'",
    ast.BoolOp: "'and'/'or'",
    ast.List: "a list",
    ast.Tuple: "a tuple",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.JoinedStr: "an f-string",
    ast.NamedExpr: "':='",
    ast.Starred: "argument unpacking",
    ast.ListComp: "a comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.Await: "await",
}


def _describe(node: ast.AST) -> str:
    if isinstance(node, ast.UnaryOp):
        return f"unary operator {type(node.op).__name__!r}"
    if isinstance(node, ast.BinOp):
        return f"operator {type(node.op).__name__!r}"
    return _DESCRIPTIONS.get(type(node), type(node).__name__)


def names_in(expr: Expr) -> frozenset[str]:
    """The free names of ``expr`` (constants ``pi``/``e`` excluded)."""
    return frozenset(n.id for n in walk(expr) if isinstance(n, Name) and n.id not in CONSTANTS)


def walk(expr: Expr | Compare) -> Iterator[Expr | Compare]:
    """Every node of the tree, parents first."""
    yield expr
    if isinstance(expr, Unary):
        yield from walk(expr.operand)
    elif isinstance(expr, Binary | Compare):
        yield from walk(expr.left)
        yield from walk(expr.right)
    elif isinstance(expr, Call):
        for arg in expr.args:
            yield from walk(arg)
    elif isinstance(expr, IfElse):
        yield from walk(expr.test)
        yield from walk(expr.body)
        yield from walk(expr.orelse)


def to_source(expr: Expr | Compare) -> str:
    """Canonical text of ``expr`` in the spec's own syntax (fully parenthesised where needed)."""
    if isinstance(expr, Num):
        return repr(expr.value)
    if isinstance(expr, Name):
        return expr.id
    if isinstance(expr, Unary):
        return f"{expr.op}({to_source(expr.operand)})"
    if isinstance(expr, Binary | Compare):
        return f"({to_source(expr.left)} {expr.op} {to_source(expr.right)})"
    if isinstance(expr, Call):
        return f"{expr.func}({', '.join(to_source(a) for a in expr.args)})"
    return f"({to_source(expr.body)} if {to_source(expr.test)} else {to_source(expr.orelse)})"


# --- numeric evaluation ------------------------------------------------------------------------
#
# Two evaluators with the same semantics: ``evaluate`` (NumPy, elementwise over arrays, for the
# reference evaluator) and ``evaluate_scalar`` (plain Python floats, for binding parameters at
# load time, so that ``lrgen validate`` need not import NumPy). Both follow Python's float
# semantics (``//`` floors, ``%`` takes the divisor's sign) and give inf/nan where Python would
# raise (division by zero, log of a non-positive number): the caller decides what is an error.

_COMPARE = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def evaluate(expr: Expr, env: Mapping[str, float | Any]) -> Any:
    """Evaluate ``expr`` in float64 with NumPy, elementwise over array-valued names."""
    import numpy as np

    with np.errstate(all="ignore"):
        return np.asarray(_eval(expr, env, np), dtype=np.float64)


def _eval(expr: Expr | Compare, env: Mapping[str, Any], np: Any) -> Any:
    if isinstance(expr, Num):
        return np.float64(expr.value)
    if isinstance(expr, Name):
        if expr.id in CONSTANTS:
            return np.float64(CONSTANTS[expr.id])
        return np.asarray(env[expr.id], dtype=np.float64)
    if isinstance(expr, Unary):
        value = _eval(expr.operand, env, np)
        return -value if expr.op == "-" else value
    if isinstance(expr, Binary):
        a, b = _eval(expr.left, env, np), _eval(expr.right, env, np)
        ufunc = {
            "+": np.add,
            "-": np.subtract,
            "*": np.multiply,
            "/": np.true_divide,
            "//": np.floor_divide,
            "%": np.mod,
            "**": np.power,
        }[expr.op]
        return ufunc(a, b)
    if isinstance(expr, Compare):
        return _COMPARE[expr.op](_eval(expr.left, env, np), _eval(expr.right, env, np))
    if isinstance(expr, Call):
        args = [_eval(a, env, np) for a in expr.args]
        if expr.func in ("min", "max"):
            reduce = np.minimum if expr.func == "min" else np.maximum
            result = args[0]
            for arg in args[1:]:
                result = reduce(result, arg)
            return result
        return getattr(np, expr.func)(args[0])
    return np.where(
        _eval(expr.test, env, np), _eval(expr.body, env, np), _eval(expr.orelse, env, np)
    )


def evaluate_scalar(expr: Expr, env: Mapping[str, float]) -> float:
    """Evaluate ``expr`` on Python floats (same semantics as :func:`evaluate`)."""
    return float(_scalar(expr, env))


def _scalar(expr: Expr | Compare, env: Mapping[str, float]) -> Any:
    if isinstance(expr, Num):
        return float(expr.value)
    if isinstance(expr, Name):
        return float(CONSTANTS[expr.id] if expr.id in CONSTANTS else env[expr.id])
    if isinstance(expr, Unary):
        value = _scalar(expr.operand, env)
        return -value if expr.op == "-" else value
    if isinstance(expr, Binary):
        return _binary(expr.op, _scalar(expr.left, env), _scalar(expr.right, env))
    if isinstance(expr, Compare):
        return _COMPARE[expr.op](_scalar(expr.left, env), _scalar(expr.right, env))
    if isinstance(expr, Call):
        args = [_scalar(a, env) for a in expr.args]
        if expr.func in ("min", "max"):
            if any(math.isnan(a) for a in args):
                return math.nan  # as np.minimum/np.maximum
            return min(args) if expr.func == "min" else max(args)
        return _function(expr.func, args[0])
    test = _scalar(expr.test, env)
    return _scalar(expr.body, env) if test else _scalar(expr.orelse, env)


def binary_value(op: str, a: float, b: float) -> float:
    """``a op b`` on Python floats with NumPy's semantics: inf/nan where Python raises, never a
    complex number. Shared by constant folding (:mod:`lrgen.lower`) and binding."""
    try:
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return a / b
        if op == "//":
            return a // b
        if op == "%":
            return a % b
        result = a**b
        return math.nan if isinstance(result, complex) else result
    except ZeroDivisionError:
        if op == "%" or (a == 0 and op != "**") or math.isnan(a):
            return math.nan
        if op == "**":  # 0.0 ** negative: inf, signed by an odd integer exponent (np.power)
            odd = b.is_integer() and b % 2 == 1
            return math.copysign(math.inf, a) if odd else math.inf
        return math.copysign(math.inf, a) * math.copysign(1.0, b)  # "/" and "//" as np
    except OverflowError:
        if op == "**" and a < 0:
            if not b.is_integer():
                return math.nan  # a negative base to a fractional power is not real
            if b % 2 == 1:
                return -math.inf
        return math.inf


_binary = binary_value


def function_value(name: str, x: float) -> float:
    """One of :data:`FUNCTIONS` (one argument) on a Python float, with NumPy's semantics."""
    try:
        if name in ("floor", "ceil"):
            if not math.isfinite(x):
                return x  # np.floor(inf) is inf; math.floor raises
            return float(math.floor(x) if name == "floor" else math.ceil(x))
        if name == "abs":
            return abs(x)
        return float(getattr(math, name)(x))
    except ValueError:  # log/sqrt of a negative number
        return -math.inf if name == "log" and x == 0 else math.nan
    except OverflowError:
        return math.inf


_function = function_value
