"""The JAX/optax target: a ``jax.numpy`` printer and the contexts of ``NAME_optax.py``.

The printer shares :class:`~lrgen.printers.KerasPrinter`'s structure (hoisting, precedence,
construction-time branches) and prints ``jax.numpy`` instead of ``keras.ops``. Integer width
follows JAX's own switch: the counter is int64 under ``jax_enable_x64`` and int32 without it, and
the result is the default float dtype (float64 under x64, else float32), as optax's built-in
schedules give. optax's step counts are int32 even under x64, so the counter is always converted.

Without x64 there is no int64. The int32 form of a formula goes through
:func:`lrgen.lower.narrow_int32`, as the Keras target's does: a spec integer beyond int32 (a
giant ``decay_steps``, a milestone at 3e9) is decided from the counter's range, and the int64
form (x64) computes it as it is; both forms are generated where they differ, and the schedule
picks one from the counter's dtype while it is traced. A constant computed from runtime
parameters that does not fit in int32 makes the schedule raise a ValueError when it is called
(traced) without x64, instead of the OverflowError JAX would raise, or a wrapped value.

``ReduceLROnPlateau`` is not generated for optax (see docs/differences.md): its schedules are
left out of the module, with a build warning at the spec position.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lrgen.errors import Problem, SpecError
from lrgen.generate import ClosedFormContext
from lrgen.ir import Schedule, Spec
from lrgen.lower import (
    FLOAT_TABLE,
    INT,
    INT_TABLE,
    Const,
    L,
    Op,
    lower,
    name_spans,
    narrow_int32,
)
from lrgen.printers import _ATOM, _WHERE, KerasPrinter, Printed

INT32_MAX = 2**31 - 1


class JaxPrinter(KerasPrinter):
    """``jax.numpy`` over an integer counter array ``t`` (int32, or int64 under x64); floats in
    the local ``dtype``. Records the integers that meet the counter (``counter_ints``), so the
    generated code can check that they fit the counter's width."""

    target = "optax"
    module = "jnp"

    ops = "jnp"
    int_dtype = "int32"  # without x64; the int64 form prints the same text over an int64 t

    def __init__(self, prefix: str = "c.") -> None:
        super().__init__(prefix)
        self.counter_ints: list[str] = []
        self.int32 = True  # whether the tree printed now is the int32 (narrowed) form
        self._dtype = False  # whether the block printed now reads the float dtype ``dtype``

    def block(self, node: L) -> Printed:
        self._dtype = False
        printed = super().block(node)
        printed.dtype = self._dtype
        return printed

    def _note_counter_ints(self, node: Op) -> None:
        """Remember each integer operand computed in Python that meets the int32 counter."""
        if not node.varying or not self.int32:
            return
        for arg in node.args:
            if arg.varying or arg.dtype not in (INT, INT_TABLE):
                continue
            if isinstance(arg, Const):
                values = arg.value if arg.dtype == INT_TABLE else (arg.value,)
                if max((abs(v) for v in values), default=0) <= INT32_MAX:
                    continue  # a literal that fits: nothing to check at run time
            text = self._wrap(arg, _WHERE)
            if arg.dtype == INT_TABLE:
                text = f"*{text}"
            if text not in self.counter_ints:
                self.counter_ints.append(text)

    # min_max, elementwise and where: KerasPrinter's, with ops = "jnp"

    def to_float(self, node: Op) -> str:
        self._dtype = True
        return f"{self._wrap(node.args[0], _ATOM)}.astype(dtype)"

    def count_le(self, table: L, x: L) -> str:
        self.helpers.add("count_le")
        return f"_count_le({self._wrap(table, _WHERE)}, {self._wrap(x, _WHERE)})"

    def take(self, table: L, i: L) -> str:
        dtype = "dtype" if table.dtype == FLOAT_TABLE else "t.dtype"
        self._dtype = self._dtype or table.dtype == FLOAT_TABLE
        return (
            f"jnp.take(jnp.asarray({self._wrap(table, _WHERE + 1)}, dtype={dtype}), "
            f"{self._wrap(i, _WHERE + 1)})"
        )

    def _op(self, node: Op) -> tuple[str, int]:
        self._note_counter_ints(node)
        return super()._op(node)  # KerasPrinter's: floor_divide and mod as jnp functions


def print_formula(printer: JaxPrinter, formula: L) -> tuple[Printed, Printed | None]:
    """The formula as ``jax.numpy`` text for the int32 counter, and, where the spec has integers
    beyond int32, the formula as it is for the int64 counter of ``jax_enable_x64``.

    The int32 form goes through :func:`lrgen.lower.narrow_int32` (as the Keras target does): a
    literal beyond int32 is decided from the counter's range, so it never reaches int32
    arithmetic. A constant schedule still returns one value per step.
    """
    narrowed = narrow_int32(formula)
    printer.int32 = True
    int32 = _block(printer, narrowed)
    printer.int32 = False
    int64 = None if narrowed is formula else _block(printer, formula)
    printer.int32 = True
    return int32, int64


def _block(printer: JaxPrinter, formula: L) -> Printed:
    printed = printer.block(formula)
    if not formula.varying:
        printed.text = f"jnp.full_like(t, {printed.text}, dtype=dtype)"
        printed.dtype = True
    return printed


# --- contexts -----------------------------------------------------------------------------------


@dataclass
class OptaxSchedule:
    """What the optax template needs for one schedule, next to the shared context ``base``."""

    base: ClosedFormContext  # names, constants, prelude
    lr: Printed  # over the int32 counter
    lr_int64: Printed | None  # over the int64 counter (x64), where it differs
    momentum: Printed | None
    momentum_int64: Printed | None
    counter_ints: str  # ", c.a, *c.table": the integers the counter meets
    doc: str

    @property
    def lr_dtype(self) -> bool:
        """Whether the learning-rate formula reads the float dtype (so the template binds it)."""
        return _reads_dtype(self.lr, self.lr_int64)

    @property
    def momentum_dtype(self) -> bool:
        return _reads_dtype(self.momentum, self.momentum_int64)

    @property
    def schedule_fn(self) -> str:
        # Class-style private names: a spec name (lowercase) cannot produce or shadow them.
        return f"_{self.base.class_name}Schedule"

    @property
    def momentum_fn(self) -> str:
        return f"_{self.base.class_name}Momentum"


def _reads_dtype(*printed: Printed | None) -> bool:
    return any(p is not None and p.dtype for p in printed)


def optax_schedule(schedule: Schedule, spec: Spec, module: dict[str, Any]) -> OptaxSchedule:
    """Print a closed-form schedule's formula (and momentum) for JAX; its constants are the
    ones these formulas read."""
    from lrgen.generate import schedule_context, schedule_doc

    lowered = name_spans(lower(schedule))
    printer = JaxPrinter()
    lr, lr_int64 = print_formula(printer, lowered.formula)
    momentum = momentum_int64 = None
    if lowered.momentum is not None:
        momentum, momentum_int64 = print_formula(printer, lowered.momentum)
    module["imports"] |= printer.imports
    module["helpers"] |= printer.helpers
    formulas = (lr, lr_int64, momentum, momentum_int64)
    reads = frozenset(name for p in formulas if p is not None for name in p.reads)
    base = schedule_context(schedule, spec, ("optax",), module, reads)
    assert isinstance(base, ClosedFormContext)
    ints = "".join(f", {text}" for text in printer.counter_ints)
    where = "optax's step count" + (" // steps_per_epoch" if schedule.unit == "epoch" else "")
    extra = (
        f"Returns an ``optax.Schedule``: a pure function of {where} for "
        "``optax.adamw(learning_rate=...)`` or ``optax.scale_by_schedule``; jit-, vmap- and "
        "grad-safe (``jnp.where``, no Python control flow on traced values). The counter is "
        "int64 under ``jax_enable_x64`` and int32 otherwise; results are the default float "
        "dtype (float64 under x64, else float32). Floors, cycles and remaining steps are "
        "integer arithmetic before any conversion to float."
    )
    if momentum is not None:
        extra += (
            f" Momentum: ``{schedule.name}_momentum`` gives the momentum (or Adam's b1) that "
            "torch's scheduler cycles, for ``optax.inject_hyperparams``."
        )
    doc = schedule_doc(
        schedule, spec, f"``{schedule.name}`` as an optax schedule (``jax.numpy`` only).", extra
    )
    return OptaxSchedule(
        base=base,
        lr=lr,
        lr_int64=lr_int64,
        momentum=momentum,
        momentum_int64=momentum_int64,
        counter_ints=ints,
        doc=doc,
    )


def optax_warnings(specs: Sequence[Spec]) -> list[Problem]:
    """Schedules the optax target leaves out (metric-driven ones), at their spec positions."""
    warnings = []
    left_out = [(spec, s) for spec in specs for s in spec.entries if s.metric_driven]
    for spec, schedule in left_out:
        warnings.append(
            spec.problem(
                schedule.node.path,
                "ReduceLROnPlateau is not generated for optax: it needs the metric, which an "
                "optax.Schedule (a function of the step) never sees; use "
                "optax.contrib.reduce_on_plateau (its rules differ: docs/differences.md, item 20)",
                code="optax-plateau",
            )
        )
    return warnings


def render_optax(spec: Spec) -> str:
    """The laid-out source of ``NAME_optax.py``: the shared contexts (constants, checks,
    docstrings) plus the ``jax.numpy`` formulas."""
    from lrgen.generate import (
        _environment,
        exports_list,
        finish,
        helper_source,
        module_header,
        name_problems,
    )

    module: dict[str, Any] = {
        "imports": set(),
        "helpers": set(),
        "checks": False,
        "momentum": False,
    }
    schedules = []
    for entry in spec.entries:
        if entry.metric_driven:
            continue
        schedules.append(optax_schedule(entry, spec, module))
    if "geometric_periods" in module["helpers"]:
        module["imports"].add("math")
    exports = []
    for s in schedules:
        exports.append(s.base.name)
        if s.momentum is not None:
            exports.append(f"{s.base.name}_momentum")
    context = {
        "header": module_header(spec, "optax"),
        "python_imports": sorted(module["imports"]),
        "typing_imports": ", ".join(
            ["Any", *(["NamedTuple"] if any(s.base.fields for s in schedules) else [])]
            if schedules
            else []
        ),
        "exports": exports_list(exports),
        "helpers": frozenset(module["helpers"]),
        "helper_source": helper_source(module["helpers"], module["checks"]),
        "has_checks": module["checks"],
        "counter_checks": any(s.counter_ints for s in schedules),
        "schedules": schedules,
        "left_out": [s.name for s in spec.entries if s.metric_driven],
    }
    template = _environment().get_template("optax_module.py.jinja")
    source, tree = finish(template.render(module=context))
    # the names the schedules make, checked against every top-level binding (as for torch/Keras)
    made: dict[str, list[str]] = {}
    for s in schedules:
        made.setdefault(s.base.name, []).append(s.base.name)
        if s.momentum is not None:
            made.setdefault(f"{s.base.name}_momentum", []).append(s.base.name)
    problems = name_problems(spec, "optax", tree, made)
    if problems:
        raise SpecError(problems)
    return source
