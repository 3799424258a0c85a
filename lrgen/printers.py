"""Printers: a lowered tree -> source text, one printer per target.

* :class:`PythonPrinter` — plain ``math`` on Python floats and ints (float64); also prints the
  construction-time code (constants, checks, helper calls).
* :class:`TorchPrinter` — ``torch`` tensor ops; the counter is an int64 tensor on any device, the
  result has the float dtype ``dtype``; no host synchronisation.
* :class:`KerasPrinter` — ``keras.ops`` only, so the schedule runs on the TensorFlow, JAX and
  PyTorch backends and inside ``jit_compile``; the counter is an int32 tensor, the result float32.

Printers are precedence-aware, so the output needs no redundant parentheses. The tensor printers
hoist subexpressions used more than once into local variables (all ``where`` branches are computed
there anyway); the Python printer inlines them so that untaken branches are never evaluated, and
prints a piecewise formula as ``if``/``return`` statements (:meth:`PythonPrinter.statements`).
"""

from __future__ import annotations

import math
from abc import abstractmethod
from dataclasses import dataclass, field

from lrgen.lower import (
    BOOL,
    FLOAT,
    FLOAT_TABLE,
    INT,
    INT_TABLE,
    SAFE_BASE,
    Const,
    L,
    Op,
    Var,
    exact_quotients,
    narrow_int32,
)

# Python operator precedence (higher binds tighter).
_WHERE, _CMP, _ADD, _MUL, _UNARY, _POW, _ATOM = 1, 5, 10, 11, 12, 13, 20
_BINARY_PREC = {"+": _ADD, "-": _ADD, "*": _MUL, "/": _MUL, "//": _MUL, "%": _MUL, "**": _POW}
_CMP_OPS = ("<", "<=", ">", ">=", "==", "!=")
_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_MATH_FUNCS = ("cos", "sin", "exp", "expm1", "log", "sqrt", "tanh")


def literal(value: object) -> str:
    """Source text of a literal: ``repr`` round-trips floats exactly; strings in double quotes."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return f"{value:.1f}"
    if isinstance(value, str):
        return pystr(value)
    return repr(value)


def pystr(text: str) -> str:
    """A str literal in double quotes, the style of generated code: escaped as ``repr`` escapes
    (backslashes, control and non-printable characters), with ``"`` escaped and ``'`` not."""
    body = "".join('\\"' if ch == '"' else "'" if ch == "'" else repr(ch)[1:-1] for ch in text)
    return f'"{body}"'


@dataclass
class Printed:
    """An expression's text plus the local assignments it needs (tensor printers)."""

    text: str
    locals: list[tuple[str, str]] = field(default_factory=list)
    #: The constants (``c.NAME``) the text and its locals read: the lowered tree's ``Var`` nodes
    #: of construction-time values, recorded as they are printed.
    reads: frozenset[str] = frozenset()
    #: Whether the text reads the local float dtype ``dtype`` (the JAX target defines it only
    #: then).
    dtype: bool = False


class PythonPrinter:
    """Plain Python: ``math``, ``bisect``. ``prefix`` is how constants are reached (``c.``)."""

    target = "python"

    def __init__(self, prefix: str = "c.") -> None:
        self.prefix = prefix
        self.imports: set[str] = set()
        self.helpers: set[str] = set()  # module helpers the printed code calls
        #: The constants read through ``prefix`` since construction or the last ``block``.
        self.reads: set[str] = set()

    # -- entry points
    def expr(self, node: L) -> str:
        return self._p(node)[0]

    def block(self, node: L) -> Printed:
        self.reads = set()
        text = self.expr(node)
        return Printed(text, reads=frozenset(self.reads))

    def statements(self, node: L) -> Printed:
        """``node`` as the body of a function returning it: a piecewise formula (``where``
        chained through its else branches: SequentialLR phases, warmups, sign cases) as
        ``if cond: return value`` for each piece and a last ``return``; a conditional nested
        inside a piece stays an expression. As with conditional expressions, only the piece
        taken is evaluated."""
        self.reads = set()
        lines: list[str] = []
        while isinstance(node, Op) and node.op == "where":
            cond, value, node = node.args
            lines += [f"if {self.expr(cond)}:", f"    return {self.expr(value)}"]
        lines.append(f"return {self.expr(node)}")
        return Printed("\n".join(lines), reads=frozenset(self.reads))

    # -- internals: (text, precedence)
    def _p(self, node: L) -> tuple[str, int]:
        if isinstance(node, Const):
            return self._const(node)
        if isinstance(node, Var):
            return self._var(node), _ATOM
        assert isinstance(node, Op)
        return self._op(node)

    def _const(self, node: Const) -> tuple[str, int]:
        if node.dtype == FLOAT and node.value == math.pi:
            self.imports.add("math")
            return "math.pi", _ATOM
        if isinstance(node.value, float) and not math.isfinite(node.value):
            # A folded 1 / 0 or exp(1000): the reference's inf or nan, as valid source.
            self.imports.add("math")
            if math.isnan(node.value):
                return "math.nan", _ATOM
            return ("math.inf", _ATOM) if node.value > 0 else ("-math.inf", _UNARY)
        text = literal(node.value)
        if (
            isinstance(node.value, int | float)
            and not isinstance(node.value, bool)
            and node.value < 0
        ):
            return text, _UNARY
        return text, _ATOM

    def _var(self, node: Var) -> str:
        if node.varying or node.param:
            return node.name
        self.reads.add(node.name)
        return f"{self.prefix}{node.name}"

    def _wrap(self, node: L, min_prec: int) -> str:
        text, prec = self._p(node)
        return f"({text})" if prec < min_prec else text

    def _binary(self, node: Op) -> tuple[str, int]:
        a, b = node.args
        prec = _BINARY_PREC[node.op]
        if node.op == "**":  # right-associative; a unary operand on the left needs parentheses
            left = self._wrap(a, _POW + 1)
            value = b.value if isinstance(b, Const) else math.nan
            small_int = float(value).is_integer() and abs(value) < 10
            right = str(int(value)) if small_int else self._wrap(b, _UNARY)
            if not small_int and (self.target == "python" or not node.varying):
                # ``float ** float`` is typed Any (a negative base can give a complex number);
                # ``float ** int`` is float
                return f"float({left} ** {right})", _ATOM
        else:
            left = self._wrap(a, prec)
            right = self._wrap(b, prec + 1)
        return f"{left} {node.op} {right}", prec

    def _op(self, node: Op) -> tuple[str, int]:
        name, args = node.op, node.args
        if name in SAFE_BASE:
            return self._safe(node)
        if name in _BINARY_PREC:
            return self._binary(node)
        if name in _CMP_OPS:
            left, right = args
            if isinstance(left, Const) and not isinstance(right, Const):
                # ``c.lr >= 0.0``, not ``0.0 <= c.lr``: the literal on the right, as people write
                # it (and as ruff's SIM300 wants in generated code).
                left, right, name = right, left, _FLIPPED[name]
            return f"{self._wrap(left, _CMP + 1)} {name} {self._wrap(right, _CMP + 1)}", _CMP
        if name == "neg":
            return f"-{self._wrap(args[0], _UNARY)}", _UNARY
        if name == "where":
            return self._py_where(node)
        return self._call(node), _ATOM

    def _safe(self, node: Op) -> tuple[str, int]:
        """Python floats raise (ZeroDivisionError, OverflowError, a domain error) or go complex
        where NumPy and torch give inf or nan: call a helper with NumPy's semantics."""
        helper = _SAFE_HELPERS[node.op]
        self.helpers.add(helper)
        self.imports.add("math")
        return f"_{helper}({self._args(node)})", _ATOM

    def _py_where(self, node: Op) -> tuple[str, int]:
        cond, a, b = node.args
        return (
            f"{self._wrap(a, _WHERE + 1)} if {self._wrap(cond, _WHERE + 1)} "
            f"else {self._wrap(b, _WHERE)}",
            _WHERE,
        )

    def _args(self, node: Op) -> str:
        # A conditional expression needs no parentheses as a call argument.
        return ", ".join(self._wrap(a, _WHERE) for a in node.args)

    def _call(self, node: Op) -> str:
        name, args = node.op, node.args
        if name == "float":
            return f"float({self._args(node)})"
        if name in ("min", "max") and node.dtype == FLOAT:
            # Python's min and max keep their first argument when a comparison with nan is
            # false: min(nan, 1.0) is nan, min(1.0, nan) 1.0; NumPy's minimum gives nan for both
            helper = "minimum" if name == "min" else "maximum"
            self.helpers.add(helper)
            self.imports.add("math")
            return f"_{helper}({self._args(node)})"
        if name in ("min", "max", "abs"):
            return f"{name}({self._args(node)})"
        if name in _MATH_FUNCS:
            self.imports.add("math")
            return f"math.{name}({self._args(node)})"
        if name == "int_floor":
            self.imports.add("math")
            return f"math.floor({self._args(node)})"
        if name == "count_le":
            self.imports.add("bisect")
            return f"bisect.bisect_right({self._args(node)})"
        if name == "take":
            return f"{self._wrap(args[0], _ATOM)}[{self._wrap(args[1], _WHERE + 1)}]"
        if name.startswith("call:"):
            self.helpers.add(name[5:])
            self.imports.add("math")
            return f"_{name[5:]}({self._args(node)})"
        if name.startswith("index:"):
            return f"{self._wrap(args[0], _ATOM)}[{name[6:]}]"
        if name == "tuple":
            inner = self._args(node)
            return f"({inner},)" if len(args) == 1 else f"({inner})"
        raise ValueError(f"{self.target} printer cannot print op {name!r}")


#: The helper of the generated module (``_NAME``) that computes each raising op.
_SAFE_HELPERS = {
    "safe_div": "div",
    "safe_floordiv": "floordiv",
    "safe_mod": "mod",
    "safe_pow": "power",
    "safe_exp": "exp",
    "safe_log": "log",
    "safe_sqrt": "sqrt",
    "safe_floor": "floor",
    "safe_ceil": "ceil",
}


#: What a tensor target prints itself: every operation on tensors of the counter.
TENSOR_OPERATIONS = ("to_float", "min_max", "elementwise", "count_le", "take", "where")


class _TensorPrinter(PythonPrinter):
    """Shared by the tensor targets: hoisting of repeated subexpressions into locals, and the
    dispatch of each operation on tensors to the target's method for it. A target (a subclass
    that sets ``target``) must implement every one of :data:`TENSOR_OPERATIONS`: one that leaves
    any out is refused when its class is defined, not when a spec first needs the operation."""

    module = ""

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "target" not in cls.__dict__:
            return  # an intermediate base, not a target
        missing = [
            name
            for name in TENSOR_OPERATIONS
            if getattr(getattr(cls, name), "__isabstractmethod__", False)
        ]
        if missing:
            raise TypeError(f"{cls.__name__}: a tensor printer must implement {', '.join(missing)}")

    @abstractmethod
    def to_float(self, node: Op) -> str:
        """``float(x)``: an integer tensor as the target's float dtype."""

    @abstractmethod
    def min_max(self, node: Op) -> str:
        """``min(a, b)`` or ``max(a, b)``, at least one of them a tensor."""

    @abstractmethod
    def elementwise(self, node: Op) -> str:
        """``abs``, ``floor``, ``ceil`` and the math functions (``cos``, ``exp`` ...)."""

    @abstractmethod
    def count_le(self, table: L, x: L) -> str:
        """How many items of the increasing integer ``table`` are ``<= x``."""

    @abstractmethod
    def take(self, table: L, i: L) -> str:
        """``table[i]`` for a tensor index ``i``."""

    @abstractmethod
    def where(self, node: Op) -> tuple[str, int]:
        """``where(cond, a, b)`` with a tensor condition: (text, precedence)."""

    def _call(self, node: Op) -> str:
        if not node.varying:
            return super()._call(node)
        name, args = node.op, node.args
        if name == "float":
            return self.to_float(node)
        if name in ("min", "max"):
            return self.min_max(node)
        if name in ("abs", "floor", "ceil", *_MATH_FUNCS):
            return self.elementwise(node)
        if name == "count_le":
            return self.count_le(*args)
        if name == "take":
            return self.take(*args)
        raise ValueError(f"{self.target} printer cannot print op {name!r}")

    def _op(self, node: Op) -> tuple[str, int]:
        if node.op == "where" and node.varying:
            if not node.args[0].varying:
                return self._py_where(node)
            return self.where(node)
        return super()._op(node)

    def _safe(self, node: Op) -> tuple[str, int]:
        if not node.varying:  # construction-time Python
            return super()._safe(node)
        # tensors give inf and nan as NumPy does
        return self._p(Op(SAFE_BASE[node.op], node.args, node.dtype, node.varying))

    def block(self, node: L) -> Printed:
        node = exact_quotients(node)
        counts: dict[int, int] = {}
        self._count(node, counts)
        self._names: dict[int, str] = {}
        self._hoist = {key for key, n in counts.items() if n > 1}
        self._locals: list[tuple[str, str]] = []
        self.reads = set()
        text = self.expr(node)
        return Printed(text, self._locals, frozenset(self.reads))

    def _count(self, node: L, counts: dict[int, int]) -> None:
        if not (isinstance(node, Op) and node.varying):
            return
        counts[id(node)] = counts.get(id(node), 0) + 1
        if counts[id(node)] > 1:
            return
        if node.op == "where" and not node.args[0].varying:
            # A branch chosen by a construction-time value is printed as ``a if c else b`` and
            # must stay lazy: the branch not taken may index an empty restart table.
            return
        for arg in node.args:
            self._count(arg, counts)

    def _p(self, node: L) -> tuple[str, int]:
        key = id(node)
        hoist: set[int] = getattr(self, "_hoist", set())
        if key in hoist:
            if key not in self._names:
                text = super()._p(node)[0]
                name = f"v{len(self._locals) + 1}"
                self._locals.append((name, text))
                self._names[key] = name
            return self._names[key], _ATOM
        return super()._p(node)


class TorchPrinter(_TensorPrinter):
    """``torch`` ops over an int64 counter tensor ``t``; results in the float dtype ``dtype``."""

    target = "torch"

    def to_float(self, node: Op) -> str:
        return f"{self._wrap(node.args[0], _ATOM)}.to(dtype)"

    def elementwise(self, node: Op) -> str:
        return f"torch.{node.op}({self._args(node)})"

    def count_le(self, table: L, x: L) -> str:
        return (
            f"torch.bucketize({self._wrap(x, _WHERE + 1)}, "
            f"torch.tensor({self._wrap(table, _WHERE + 1)}, device=t.device), right=True)"
        )

    def take(self, table: L, i: L) -> str:
        dtype = "dtype" if table.dtype == FLOAT_TABLE else "torch.int64"
        # torch.take, not [i]: a 0-d index would be read back to the host (a sync on CUDA,
        # a graph break under torch.compile).
        return (
            f"torch.take(torch.tensor({self._wrap(table, _WHERE)}, dtype={dtype}, "
            f"device=t.device), {self._wrap(i, _WHERE)})"
        )

    def min_max(self, node: Op) -> str:
        a, b = node.args
        if a.varying and b.varying:
            fn = "torch.minimum" if node.op == "min" else "torch.maximum"
            return f"{fn}({self._args(node)})"
        tensor, bound = (a, b) if a.varying else (b, a)
        kw = "max" if node.op == "min" else "min"
        return (
            f"torch.clamp({self._wrap(tensor, _WHERE + 1)}, {kw}={self._wrap(bound, _WHERE + 1)})"
        )

    def where(self, node: Op) -> tuple[str, int]:
        cond, a, b = node.args
        if not a.varying and not b.varying:
            kind = "dtype" if a.dtype == FLOAT else "torch.int64"
            first = f"torch.full_like(t, {self._wrap(a, _WHERE + 1)}, dtype={kind})"
            return (
                f"torch.where({self._wrap(cond, _WHERE + 1)}, {first}, "
                f"{self._wrap(b, _WHERE + 1)})",
                _ATOM,
            )
        return f"torch.where({self._args(node)})", _ATOM


class KerasPrinter(_TensorPrinter):
    """``keras.ops`` over an int32 counter tensor ``t``; results in float32.

    The counter is int32 on every backend (JAX has no int64 without x64) and clamped to
    ``[0, 2**31 - 1]`` by the generated class: the tree goes through
    :func:`lrgen.lower.narrow_int32` first, so integer literals beyond int32 never reach the
    generated code. Subclasses (another ``keras.ops``-like module) change ``ops`` (the module
    prefix), ``int_dtype`` and ``float_dtype``.
    """

    target = "keras"
    ops = "ops"
    int_dtype = "int32"
    float_dtype = "float32"

    def block(self, node: L) -> Printed:
        if self.target != "keras":  # a subclass with another counter width narrows itself
            return super().block(node)
        narrowed = narrow_int32(node)
        printed = super().block(narrowed)
        if node.varying and not narrowed.varying:  # e.g. t // D with D beyond int32 is 0
            dtype = pystr(self.float_dtype)
            printed.text = f"{self.ops}.full_like(t, {printed.text}, dtype={dtype})"
        return printed

    def to_float(self, node: Op) -> str:
        return f"{self.ops}.cast({self._args(node)}, {pystr(self.float_dtype)})"

    def min_max(self, node: Op) -> str:
        return f"{self.ops}.{node.op}imum({self._args(node)})"

    def elementwise(self, node: Op) -> str:
        return f"{self.ops}.{node.op}({self._args(node)})"

    def count_le(self, table: L, x: L) -> str:
        o = self.ops
        return (
            f"{o}.sum({o}.cast({o}.expand_dims({self._wrap(x, _WHERE + 1)}, -1) >= "
            f"{o}.convert_to_tensor({self._wrap(table, _WHERE + 1)}, "
            f"dtype={pystr(self.int_dtype)}), {pystr(self.int_dtype)}), axis=-1)"
        )

    def take(self, table: L, i: L) -> str:
        o = self.ops
        dtype = self.float_dtype if table.dtype == FLOAT_TABLE else self.int_dtype
        return (
            f"{o}.take({o}.convert_to_tensor({self._wrap(table, _WHERE + 1)}, "
            f"dtype={pystr(dtype)}), {self._wrap(i, _WHERE + 1)})"
        )

    def where(self, node: Op) -> tuple[str, int]:
        return f"{self.ops}.where({self._args(node)})", _ATOM

    def _op(self, node: Op) -> tuple[str, int]:
        if node.varying and node.op in ("//", "%") and node.dtype == INT:
            fn = "floor_divide" if node.op == "//" else "mod"
            return f"{self.ops}.{fn}({self._args(node)})", _ATOM
        return super()._op(node)


__all__ = [
    "BOOL",
    "FLOAT",
    "INT",
    "INT_TABLE",
    "KerasPrinter",
    "Printed",
    "PythonPrinter",
    "TorchPrinter",
    "literal",
]
