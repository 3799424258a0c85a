"""The generator behind ``lrgen build`` (whose command line is :mod:`lrgen.commands.build`): spec ->
lowered trees -> printed expressions -> templates -> files.

Templates (``templates/*.jinja``) see only the contexts built here: names, printed expressions,
docstring literals, and emit finished code (double-quoted strings, PEP 8 blank lines, long lists
one item per line); :mod:`lrgen.layout` breaks the lines that are too long, so no formatter runs
and the output depends on nothing installed next to lrgen. It is deterministic (no clocks, sorted
or spec-given order), starts with comments that keep users' formatters and linters off the file
(``# fmt: off``, file-level ``noqa``), and is written atomically (temporary file +
``os.replace``): a failed or interrupted build leaves earlier output untouched. ``--check``
writes nothing and prints a diff.
"""

from __future__ import annotations

import ast
import keyword
import re
import string
import sys
import textwrap
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

from lrgen import expr as ex
from lrgen import output
from lrgen.errors import Problem, SpecError, display_path
from lrgen.ir import Node, Schedule, Spec
from lrgen.kinds import KIND_MAP, MAX_OUTPUT_CHARS, T
from lrgen.layout import LINE_LENGTH, layout
from lrgen.lower import (
    FLOAT,
    FLOAT_TABLE,
    INT,
    INT_TABLE,
    TABLES,
    Assert,
    Builder,
    Const,
    L,
    Let,
    Lowered,
    LoweredSettings,
    Op,
    Var,
    constant_names,
    constant_value,
    lower,
    lower_settings,
    name_spans,
    to_float,
)
from lrgen.printers import KerasPrinter, Printed, PythonPrinter, TorchPrinter, literal, pystr

TARGETS = ("torch", "keras", "optax")
#: What ``lrgen build`` writes without ``--target`` (the checked-in generated/ is this build).
DEFAULT_TARGETS = ("torch", "keras")
_ANNOTATIONS = {
    INT: "int",
    FLOAT: "float",
    "bool": "bool",
    INT_TABLE: "tuple[int, ...]",
    FLOAT_TABLE: "tuple[float, ...]",
}


# --- docstrings ---------------------------------------------------------------------------------


#: What a docstring cannot hold as it is: control characters but newline and tab, and DEL.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def doc_literal(text: str) -> str:
    """A triple-quoted docstring literal holding ``text`` safely: whatever the spec's text,
    it stays inside the string (backslashes, quotes and control characters are escaped)."""
    body = _CONTROL.sub(
        lambda m: m.group().encode("unicode_escape").decode("ascii"),
        text.replace("\r\n", "\n").replace("\\", "\\\\"),
    ).replace('"""', '\\"\\"\\"')
    if body.endswith('"'):
        body = body[:-1] + '\\"'
    lines = [line.rstrip() for line in body.split("\n")]
    if len(lines) == 1:
        return f'"""{lines[0]}"""'
    return '"""' + "\n".join(lines) + '\n"""'


def formula_text(node: Node, indent: str = "") -> list[str]:
    """The meaning of a node tree, one line per node, from the kinds registry."""
    kind = KIND_MAP[node.kind]
    args = []
    for param in kind.params:
        if param.type is T.NODES:
            continue
        value = node.arg(param.name)
        if value is None:
            continue
        if isinstance(value, tuple):
            value = "[" + ", ".join(ex.to_source(v) for v in value) + "]"
        elif isinstance(value, ex.Num | ex.Name | ex.Unary | ex.Binary | ex.Call | ex.IfElse):
            value = ex.to_source(value)
        args.append(f"{param.name}={value}")
    lines = textwrap.wrap(
        f"{node.kind}({', '.join(args)})",
        88,
        initial_indent=indent,
        subsequent_indent=indent + "        ",
        break_on_hyphens=False,
    )
    formula = kind.formulas[node.arg(kind.selector)] if kind.selector else kind.formula
    lines += textwrap.wrap(
        f"= {formula}",
        88,
        initial_indent=indent + "    ",
        subsequent_indent=indent + "      ",
        break_on_hyphens=False,
    )
    for child in node.children:
        lines.extend(formula_text(child, indent + "    "))
    return lines


def _wrap(text: str) -> list[str]:
    """Prose wrapped for a docstring; paragraphs (blank lines) kept."""
    out: list[str] = []
    for paragraph in text.split("\n\n"):
        if out:
            out.append("")
        out += textwrap.wrap(" ".join(paragraph.split()), 88, break_on_hyphens=False) or [""]
    return out


def schedule_doc(schedule: Schedule, spec: Spec, summary: str, extra: str = "") -> str:
    parts = [*_wrap(summary), ""]
    if schedule.description:
        parts += [*_wrap(schedule.description.strip()), ""]
    parts += [f"Counter t: {'epochs' if schedule.unit == 'epoch' else 'optimizer steps'}.", ""]
    parts += ["Formula::", ""] + ["    " + line for line in formula_text(schedule.node)] + [""]
    if schedule.params:
        params = ", ".join(f"{k}={literal(v)}" for k, v in schedule.params)
        parts += [*_wrap(f"Parameters (keyword arguments, spec defaults): {params}."), ""]
    if extra:
        parts += [*_wrap(extra), ""]
    parts += [f"Spec ({spec.stem} in {Path(spec.path).name})::", ""]
    parts += ["    " + line for line in schedule.source.strip("\n").splitlines()]
    return doc_literal("\n".join(parts))


# --- contexts -----------------------------------------------------------------------------------


@dataclass
class _Context:
    """What every template of one schedule reads: its names, keyword arguments and the
    construction-time code of its constants (templates/_common.py.jinja)."""

    name: str
    class_name: str
    unit: str
    param_names: list[str]
    kw_signature: str  # ", name: float = default" per param, after a bare "*"
    kw_params: list[str]  # "name: float = default" per param
    kw_call: str
    constants_class: str
    constants_fn: str
    signature: str  # of the constants function
    lambda_class: str
    at_fn: str
    lr_fn: str  # the formula alone: ``at_fn`` checks the step and the result
    momentum_fn: str
    check_fn: str  # the constants function when no field is read: it only checks
    params_dict: str  # ``{"a": a}``: the keyword arguments as a dict
    arguments_dict: str  # the constants function's arguments as a dict
    fields: list[tuple[str, str]]
    fields_call: str
    prelude: list[str]
    derived: list[str]  # after ``prelude``: values computed without a ``try`` (nothing raises)

    @property
    def kw_only(self) -> str:
        """``", *, a: float = 1.0"`` when there are params, else nothing (``*`` needs one)."""
        return ", *" + self.kw_signature if self.param_names else ""


@dataclass
class ClosedFormContext(_Context):
    """A closed-form schedule: lr(t) printed for each target of the module (None for the
    others) and its docstrings: the full one on the class, short ones elsewhere."""

    py: Printed | None
    torch: Printed | None
    keras: Printed | None
    momentum_py: Printed | None
    doc_function: str
    doc_class: str
    doc_keras: str
    metric_driven: ClassVar[bool] = False

    def uses_constants(self, target: str) -> bool:
        """Whether the code printed for ``target`` reads the constants ``c``: which constants
        the printer met in the lowered tree (:attr:`lrgen.printers.Printed.reads`)."""
        printed: Printed | None = getattr(self, target)
        assert printed is not None
        return bool(printed.reads)


@dataclass(frozen=True)
class PlateauSettings:
    """Source text of each ReduceLROnPlateau setting: a literal, or ``c.NAME`` for one that
    depends on parameters."""

    mode: str
    factor: str
    patience: str
    threshold: str
    threshold_mode: str
    cooldown: str
    min_lr: str
    eps: str
    monitor: str
    warmup_steps: str
    warmup_start_factor: str
    lr: str  # the Keras callback's warmup ends at the spec's lr


@dataclass
class PlateauContext(_Context):
    """A metric-driven schedule (ReduceLROnPlateau): its settings and the class docstrings."""

    settings: PlateauSettings
    #: Whether a setting reads the constants ``c`` (the constructor then binds ``c``).
    reads_constants: bool
    doc_class: str
    doc_keras: str
    metric_driven: ClassVar[bool] = True


ScheduleContext = ClosedFormContext | PlateauContext


def _needed(lowered: Lowered | LoweredSettings, stored: Collection[str]) -> set[str]:
    """The constants the construction computes: the ``stored`` ones, the ones a check or a
    needed constant reads, and every one that is checked itself (an argument must be refused
    whether or not the formula reads the field)."""
    needed = set(stored)
    for item in reversed(lowered.lets):
        if isinstance(item, Assert):
            needed |= set(constant_names(item.cond))
            for _, value in item.values:
                needed |= set(constant_names(value))
        elif item.name in needed or item.integer or item.bounds:
            needed |= set(constant_names(item.value))
    return needed


def _prelude(
    lowered: Lowered | LoweredSettings,
    printer: PythonPrinter,
    sources: dict[str, str],
    stored: Collection[str],
) -> tuple[list[str], list[str], bool]:
    """Construction-time statements, the last ones that cannot raise (``derived``: no
    ``try`` around them), and whether they use the check helpers. Their messages
    name a field by what the user wrote (``T_max = total_steps - warmup_steps``), not by its
    JSON path: the constructor's error says which arguments were passed. A derived value that
    nothing ``stored`` reads, and no check, is not computed; a checked one that is never read
    is checked without a name."""
    lines: list[str] = []
    tail: list[str] = []  # the last values, if nothing can raise computing them
    checks = False
    needed = _needed(lowered, stored)
    for item in lowered.lets:
        if isinstance(item, Assert):
            checks = True
            lines += tail
            tail = []
            lines.append(f"_require({printer.expr(item.cond)}, {_assert_text(item, printer)})")
            continue
        value = item.value
        if getattr(value, "param", False) and getattr(value, "name", None) == item.name:
            continue  # a parameter used as is: the keyword argument is the value
        if item.name not in needed and not item.integer and not item.bounds:
            continue
        text = printer.expr(value)
        what = _field_label(item.field, sources) if item.field else item.name
        if item.integer:
            checks = True
            text = f"_integer({pystr(what)}, {text})"
        if item.name not in needed and not item.bounds:
            lines += tail
            tail = []
            lines.append(text)  # checked, never read
            continue
        if not item.integer and not item.bounds and _cannot_raise(value):
            tail.append(f"{item.name} = {text}")
            continue
        lines += tail
        tail = []
        lines.append(f"{item.name} = {text}")
        for cmp, limit in item.bounds:
            checks = True
            lines.append(
                f"_require({item.name} {cmp} {literal(limit)}, {pystr(what)}, {item.name}, "
                f"{pystr(cmp + ' ' + literal(limit))})"
            )
    return lines, tail, checks


def _cannot_raise(value: L) -> bool:
    """Float arithmetic that Python computes without raising (a phase's span, ``lr - eta_min``
    or ``0.01 - 0.01 / 25.0``): ``+``, ``-`` and ``*`` of floats, division by a nonzero literal."""
    if isinstance(value, Const | Var):
        return value.dtype == FLOAT
    if not isinstance(value, Op) or value.dtype != FLOAT:
        return False
    if value.op == "/":
        divisor = value.args[1]
        nonzero = isinstance(divisor, Const) and divisor.value != 0
        return nonzero and _cannot_raise(value.args[0])
    return value.op in ("+", "-", "*") and all(_cannot_raise(a) for a in value.args)


def field_sources(schedule: Schedule) -> dict[str, str]:
    """JSON path of each numeric field of ``schedule`` -> the expression the spec gives it."""
    sources = {f"{schedule.path}.lr": ex.to_source(schedule.lr)}
    nodes = [schedule.node]
    while nodes:
        node = nodes.pop()
        nodes.extend(node.children)
        for param in KIND_MAP[node.kind].params:
            if param.type is T.NODES:
                continue
            value = node.arg(param.name)
            where = f"{node.path}.{param.name}"
            if isinstance(value, tuple):
                for i, item in enumerate(value):
                    if isinstance(item, _EXPRESSIONS):
                        sources[f"{where}[{i}]"] = ex.to_source(item)
            elif isinstance(value, _EXPRESSIONS):
                sources[where] = ex.to_source(value)
    return sources


_EXPRESSIONS = (ex.Num, ex.Name, ex.Unary, ex.Binary, ex.Call, ex.IfElse)


def _field_label(path: str, sources: dict[str, str]) -> str:
    """``T_max = total_steps - warmup_steps``: the field's name and, when it is computed from
    the parameters, the spec's expression for it."""
    name = path.rsplit(".", 1)[-1]
    source = sources.get(path)
    if source and source.startswith("(") and source.endswith(")"):
        source = source[1:-1]  # to_source wraps a binary expression
    return f"{name} = {source}" if source and source != name else name


def _assert_message(message: str) -> str:
    """A cross-field check's message with its JSON path cut to the field's name."""
    path, sep, rest = message.partition(": ")
    if not sep or not path.startswith("schedules."):
        return message
    return f"{path.rsplit('.', 1)[-1]}: {rest}"


def _assert_text(item: Assert, printer: PythonPrinter) -> str:
    """A cross-field check's message as Python source: the registry check's own message, its
    ``{left}``/``{right}`` the ``repr`` of the compared values (an f-string field where a value
    is only known at run time, as binding formats it)."""
    values = dict(item.values)
    parts: list[str] = []
    runtime = False
    for text, name, _, _ in string.Formatter().parse(_assert_message(item.message)):
        parts.append(text.replace("{", "{{").replace("}", "}}"))
        if name is None:
            continue
        known = constant_value(values[name])
        if known is not None:
            parts.append(repr(known).replace("{", "{{").replace("}", "}}"))
        else:
            parts.append(f"{{{printer.expr(values[name])}!r}}")
            runtime = True
    source = "".join(parts)
    return "f" + pystr(source) if runtime else pystr(source.replace("{{", "{").replace("}}", "}"))


def _fields(
    lowered: Lowered | LoweredSettings, reads: Collection[str]
) -> tuple[list[tuple[str, str]], str]:
    """The fields of the constants NamedTuple: the constants that the module's code ``reads``."""
    fields: list[tuple[str, str]] = []
    call: list[str] = []
    if isinstance(lowered.lr, Const) and "lr" in reads:
        fields.append(("lr", "float"))
        call.append(f"lr={literal(lowered.lr.value)}")
    for item in lowered.lets:
        if isinstance(item, Let) and item.dtype != TABLES and item.name in reads:
            fields.append((item.name, _ANNOTATIONS[item.dtype]))
            call.append(f"{item.name}={item.name}")
    return fields, ", ".join(call)


def schedule_context(
    schedule: Schedule,
    spec: Spec,
    targets: Sequence[str],
    module: dict[str, Any],
    reads: frozenset[str] = frozenset(),
) -> ScheduleContext:
    """The context of one schedule for a module of ``targets``. ``reads``: the constants that
    code printed elsewhere reads (the optax target's formulas); the constants NamedTuple holds
    only the constants the module reads."""
    params = list(schedule.params)
    names = [k for k, _ in params]
    kw_signature = "".join(f", {k}: float = {literal(v)}" for k, v in params)
    kw_call = ", ".join(f"{k}={k}" for k in names)
    camel = schedule.class_name
    base: dict[str, Any] = dict(
        name=schedule.name,
        class_name=camel,
        unit=schedule.unit,
        param_names=names,
        kw_signature=kw_signature,
        kw_params=[f"{k}: float = {literal(v)}" for k, v in params],
        kw_call=kw_call,
        **private_names(camel),
        signature="*" + kw_signature if params else "",
        params_dict="{" + ", ".join(f"{pystr(k)}: {k}" for k in names) + "}",
    )
    base["arguments_dict"] = base["params_dict"]
    sources = field_sources(schedule)
    if schedule.metric_driven:
        settings = lower_settings(schedule)
        texts, settings_read = plateau_settings(settings, "keras" in targets)
        prelude_printer = PythonPrinter(prefix="")
        prelude, derived, checks = _prelude(settings, prelude_printer, sources, settings_read)
        fields, fields_call = _fields(settings, settings_read)
        module["imports"] |= prelude_printer.imports
        if "keras" in targets:
            module["imports"].add("math")  # the callback's best value starts at +-inf
        module["checks"] = module["checks"] or checks or bool(prelude)
        return PlateauContext(
            **base,
            fields=fields,
            fields_call=fields_call,
            prelude=prelude,
            derived=derived,
            settings=texts,
            reads_constants=bool(settings_read),
            doc_class=schedule_doc(
                schedule,
                spec,
                f"``{schedule.name}`` as a PyTorch scheduler: call ``step(metric)`` after each "
                "epoch.",
                "It is torch's own ``ReduceLROnPlateau`` with the spec's settings: the same "
                "state machine, ``state_dict`` and pickling. Each param group starts from its "
                "own lr (build the optimizer with the spec's lr).",
            ),
            doc_keras=schedule_doc(
                schedule,
                spec,
                f"``{schedule.name}`` as a Keras callback with torch's ReduceLROnPlateau "
                "semantics: reads ``monitor`` at each epoch end and sets the optimizer's "
                "learning rate.",
                "The optimizer must be built with a float learning rate (a schedule object "
                "cannot be reduced). NaN metrics count as bad epochs, as in torch.",
            ),
        )
    per_group = "torch" in targets
    lowered = name_spans(lower(_lr_argument(schedule) if per_group else schedule))
    py, torch_printer, keras_printer = PythonPrinter(), TorchPrinter(), KerasPrinter()
    py_printed = py.statements(lowered.formula)
    torch_printed = _tensor(torch_printer, lowered.formula, "torch") if "torch" in targets else None
    keras_printed = _tensor(keras_printer, lowered.formula, "keras") if "keras" in targets else None
    momentum = py.statements(lowered.momentum) if lowered.momentum is not None else None
    # The constants the module's code reads: the torch module's forms and its LambdaLR
    # multiplier (``/ c.lr``), the Keras class, or what the optax target printed (``reads``).
    read = set(reads)
    if per_group:
        read |= {"lr", *py_printed.reads, *(momentum.reads if momentum else ())}
        read |= torch_printed.reads if torch_printed else set()
    if keras_printed is not None:
        read |= keras_printed.reads
    prelude_printer = PythonPrinter(prefix="")
    prelude, derived, checks = _prelude(lowered, prelude_printer, sources, read)
    if per_group:
        lr_prelude, lr_default = _lr_default(schedule, prelude_printer, sources)
        prelude = lr_prelude + prelude
        base["signature"] = f"*{kw_signature}, lr: {lr_default}"
        base["arguments_dict"] = "{" + ", ".join(f"{pystr(k)}: {k}" for k in [*names, "lr"]) + "}"
    fields, fields_call = _fields(lowered, read)
    used = (py, torch_printer) if "torch" in targets else (keras_printer,)
    for printer in (*used, prelude_printer):
        module["imports"] |= printer.imports
        module["helpers"] |= printer.helpers
    module["helpers"] |= lowered.helpers
    module["checks"] = module["checks"] or checks or bool(prelude)
    module["momentum"] = module["momentum"] or momentum is not None
    see = f"See :class:`{camel}` for the schedule, its formula and spec."
    doc_function = doc_literal(
        "\n".join(
            [
                *_wrap(
                    f"Learning rate of ``{schedule.name}`` at {schedule.unit} ``t`` (an int >= 0), "
                    "a Python float (float64)"
                    + (
                        "; the keyword arguments are the schedule's parameters, with the spec's "
                        "defaults."
                        if params
                        else "."
                    )
                ),
                "",
                *_wrap(
                    "Raises ValueError for a negative ``t``, for arguments the schedule refuses "
                    f"and for a learning rate that is not a finite number. {see}"
                ),
            ]
        )
    )
    extra = (
        f"The same schedule as a function: ``{schedule.name}(t)`` (Python floats), "
        f"``{schedule.name}_tensor(t)`` (a tensor of steps, no host synchronisation) and "
        f"``{schedule.name}_lambda(optimizer)`` (a ``LambdaLR``)."
    )
    if momentum is not None:
        extra += (
            " Momentum: the PyTorch scheduler also cycles the optimizer's momentum (or "
            "Adam's beta1) inversely to the learning rate, as torch does."
        )
    return ClosedFormContext(
        **base,
        fields=fields,
        fields_call=fields_call,
        prelude=prelude,
        derived=derived,
        py=py_printed,
        torch=torch_printed,
        keras=keras_printed,
        momentum_py=momentum,
        doc_function=doc_function,
        doc_class=schedule_doc(
            schedule,
            spec,
            f"``{schedule.name}`` as a PyTorch scheduler: the closed form at ``last_epoch``.",
            "Param groups, as in torch: each group's initial lr takes the place of the "
            "spec's lr; every other value (max_lr, base_lr, eta_min, min_lr, an explicit "
            "initial_learning_rate) stays absolute. A group whose initial lr equals the spec's "
            "gets exactly lr(t). ``state_dict`` holds the step and the keyword arguments "
            "(``schedule_params``); ``load_state_dict`` restores both, so a resumed run follows "
            "the schedule it was saved with (to change a parameter on resume, edit "
            "``state['schedule_params']`` before loading). A negative step, or a learning rate "
            "that is not a finite number, raises ValueError.\n\n" + extra,
        ),
        doc_keras=schedule_doc(
            schedule,
            spec,
            f"``{schedule.name}`` as a Keras ``LearningRateSchedule`` (``keras.ops`` only).",
            "The step is Keras's optimizer.iterations"
            + (" // steps_per_epoch" if schedule.unit == "epoch" else "")
            + "; floors, cycles and remaining steps are computed in int32 before float32."
            + (
                " Momentum is NOT cycled: Keras optimizers hold momentum and beta_1 as Python "
                "floats, which a compiled train step reads once, when it is traced (see "
                "docs/momentum.md); the PyTorch scheduler cycles it."
                if lowered.momentum is not None
                else ""
            ),
        ),
    )


def private_names(camel: str) -> dict[str, str]:
    """The module-private names of one schedule: ``_`` + its class name + ``_`` + a role.

    Spec names are ``[a-z][a-z0-9_]*``, so no public name the spec makes starts with ``_``;
    class names are unique in a spec and hold no ``_``, so the part before the second ``_`` says
    whose helper it is and these names cannot collide (``sgd``'s momentum helper is
    ``_Sgd_momentum_at``, ``sgd_momentum``'s formula ``_SgdMomentum_at``).
    """
    return {
        "constants_class": f"_{camel}_Constants",
        "constants_fn": f"_{camel}_constants",
        "lambda_class": f"_{camel}_Lambda",
        "at_fn": f"_{camel}_at",
        "lr_fn": f"_{camel}_lr",
        "momentum_fn": f"_{camel}_momentum_at",
        "check_fn": f"_{camel}_check",
    }


def _lr_argument(schedule: Schedule) -> Schedule:
    """``schedule`` with its base lr read from an argument ``lr`` of the constants function:
    the torch scheduler computes the constants once per param group, with that group's initial
    lr in place of the spec's (``lr`` is a reserved name: no parameter takes it)."""
    return replace(schedule, lr=ex.Name("lr"), params=(*schedule.params, ("lr", 0.0)))


def _lr_default(
    schedule: Schedule, printer: PythonPrinter, sources: dict[str, str]
) -> tuple[list[str], str]:
    """The constants function's ``lr`` argument: its annotation and default (the spec's lr),
    and the statements that compute the default when the spec's lr depends on parameters."""
    tree = to_float(Builder(schedule).spec_expr(schedule.lr, {}))
    value = constant_value(tree)
    if value is not None:
        return [], f"float = {literal(float(value))}"
    what = _field_label(f"{schedule.path}.lr", sources)
    return [
        "if lr is None:",
        f"    lr = {printer.expr(tree)}",
        f'    _require(lr > 0.0, {pystr(what)}, lr, "> 0.0")',
    ], "float | None = None"


def _tensor(printer: TorchPrinter | KerasPrinter, formula: Any, target: str) -> Printed:
    printed = printer.block(formula)
    if not formula.varying:  # a constant schedule still returns one value per step
        if target == "torch":
            printed.text = f"torch.full_like(t, {printed.text}, dtype=dtype)"
        else:
            printed.text = f'ops.full_like(t, {printed.text}, dtype="float32")'
    return printed


def plateau_settings(settings: LoweredSettings, keras: bool) -> tuple[PlateauSettings, set[str]]:
    """Each ReduceLROnPlateau setting as source text, and the constants that the settings a
    target's template prints read: the warmup's only with a warmup, its end lr only in the
    Keras callback."""
    printer = PythonPrinter()
    texts: dict[str, str] = {}
    reads: dict[str, set[str]] = {}
    for name, value in (*settings.settings, ("lr", settings.lr)):
        printer.reads = set()
        texts[name] = pystr(value) if isinstance(value, str) else printer.expr(value)
        reads[name] = printer.reads
    printed = set(reads) - {"monitor"}  # a string: never a constant
    if texts["warmup_steps"] == "0":
        printed -= {"warmup_steps", "warmup_start_factor", "lr"}
    if not keras:
        printed.discard("lr")
    return PlateauSettings(**texts), {c for name in printed for c in reads[name]}


def module_header(spec: Spec, target: str) -> str:
    """The module's first lines: comments that keep formatters and linters off the file (``#
    fmt: off`` for ruff format and black, file-level ``noqa`` for ruff and flake8; see
    docs/ci.md), then the docstring with the spec's name and sha256."""
    name = Path(spec.path).name
    shown = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in name)
    comments = [
        f"# Generated by lrgen from {shown}: do not edit.",
        f"# Regenerate: lrgen build {shown}",
        "# fmt: off",
        "# ruff: noqa: PGH004",
        "# ruff: noqa",
        "# flake8: noqa",
    ]
    lines = [
        f"Learning-rate schedules for {target}, generated by lrgen from {name}.",
        "",
        f"Spec: {name}",
        f"sha256: {spec.sha256}",
        *_wrap("Schedules: " + ", ".join(spec.schedules)),
        "",
        f"Do not edit: regenerate with ``lrgen build {name}``.",
    ]
    if spec.description:
        lines += ["", *_wrap(spec.description.strip())]
    return "\n".join(comments) + "\n" + doc_literal("\n".join(lines))


# --- runtime helpers ----------------------------------------------------------------------------

#: The module helpers (``module["helpers"]``) that a template defines itself, in framework code;
#: every other one, NAME, is the definition ``_NAME`` of templates/runtime_helpers.py.
TEMPLATE_HELPERS = frozenset({"count_le"})
#: The definitions of templates/runtime_helpers.py that construction-time checks call.
CHECK_HELPERS = ("_integer", "_require", "_argument_error")


@dataclass(frozen=True)
class _Definition:
    text: str  # as in the file, with the comment lines right above it
    uses: frozenset[str]  # the other definitions its code reads


@cache
def _runtime_helpers() -> dict[str, _Definition]:
    source = (resources.files("lrgen.templates") / "runtime_helpers.py").read_text("utf-8")
    return parse_helpers(source)


def parse_helpers(source: str) -> dict[str, _Definition]:
    """The top-level definitions of ``source`` (templates/runtime_helpers.py), in its order; a
    ValueError for any other statement but imports and the docstring. A function's text starts
    after two blank lines, a constant's right after the line before it (its ``#:`` comment
    first), as the helpers were always laid out in generated modules."""
    lines = source.splitlines()
    body = ast.parse(source).body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the module docstring
    found: dict[str, tuple[ast.stmt, str]] = {}
    for statement in body:
        if isinstance(statement, ast.Import | ast.ImportFrom):
            continue  # generated modules import what the helpers use
        if isinstance(statement, ast.FunctionDef) and not statement.decorator_list:
            name = statement.name
        elif isinstance(statement, ast.Assign | ast.AnnAssign):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            if len(targets) != 1 or not isinstance(targets[0], ast.Name):
                raise ValueError(
                    f"templates/runtime_helpers.py:{statement.lineno}: one name per constant"
                )
            name = targets[0].id
        else:
            raise ValueError(
                f"templates/runtime_helpers.py:{statement.lineno}: not a function or a constant"
            )
        if not name.startswith("_") or name in found:
            raise ValueError(
                f"templates/runtime_helpers.py:{statement.lineno}: {name!r} is defined twice or "
                "does not start with '_' (a generated module's public names are its schedules')"
            )
        first = statement.lineno
        while first > 1 and lines[first - 2].startswith("#"):
            first -= 1
        text = "\n".join(lines[first - 1 : statement.end_lineno]) + "\n"
        if isinstance(statement, ast.FunctionDef):
            text = "\n\n" + text
        found[name] = statement, text
    definitions: dict[str, _Definition] = {}
    for name, (statement, text) in found.items():
        read = {n.id for n in ast.walk(statement) if isinstance(n, ast.Name)}
        definitions[name] = _Definition(text, frozenset(read & found.keys() - {name}))
    return definitions


def helper_source(helpers: Iterable[str], checks: bool = False) -> str:
    """The runtime helpers a generated module calls, as the text the module template inlines:
    ``_NAME`` of templates/runtime_helpers.py for each NAME of ``helpers`` (but
    ``TEMPLATE_HELPERS``), ``CHECK_HELPERS`` with ``checks``, and the definitions these read,
    transitively (``_div`` brings ``_div_by_zero``); each exactly as written in the file, in the
    file's order. A helper the file does not define is a LookupError."""
    definitions = _runtime_helpers()
    wanted = [f"_{h}" for h in sorted(helpers) if h not in TEMPLATE_HELPERS]
    wanted += CHECK_HELPERS if checks else ()
    unknown = [name for name in wanted if name not in definitions]
    if unknown:
        raise LookupError(
            f"templates/runtime_helpers.py does not define {', '.join(unknown)} "
            f"(it defines {', '.join(definitions)})"
        )
    closure: set[str] = set()
    while wanted:
        name = wanted.pop()
        if name not in closure:
            closure.add(name)
            wanted += definitions[name].uses
    return "".join(d.text for name, d in definitions.items() if name in closure)


# --- rendering ----------------------------------------------------------------------------------


@cache
def _environment() -> Any:
    import jinja2

    templates = resources.files("lrgen.templates")
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: (templates / name).read_text("utf-8")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render(spec: Spec, target: str) -> str:
    """The source of ``NAME_<target>.py`` for ``spec``, laid out (:func:`finish`)."""
    if target == "optax":  # jax.numpy formulas over the same contexts (lrgen/printers_jax.py)
        from lrgen.printers_jax import render_optax

        return render_optax(spec)
    module: dict[str, Any] = {
        "imports": set(),
        "helpers": set(),
        "checks": False,
        "momentum": False,
    }
    schedules = [schedule_context(s, spec, (target,), module) for s in spec.entries]
    if "geometric_periods" in module["helpers"]:
        module["imports"].add("math")
    exports = []
    for s in schedules:
        if s.metric_driven:
            exports.append(s.class_name)
        elif target == "torch":
            exports += [s.class_name, s.name, f"{s.name}_lambda", f"{s.name}_tensor"]
        else:
            exports.append(s.class_name)
    closed_form = any(not s.metric_driven for s in schedules)
    if target == "torch" and closed_form:
        module["imports"].add("math")  # the finite-learning-rate check
    typing = {"Any", *(["NamedTuple"] if any(s.fields for s in schedules) else [])}
    context = {
        "header": module_header(spec, target),
        "python_imports": sorted(module["imports"]),
        "typing_imports": ", ".join(sorted(typing)),
        "exports": exports_list(exports),
        "helpers": frozenset(module["helpers"]),
        "helper_source": helper_source(module["helpers"], module["checks"]),
        "has_checks": module["checks"],
        "has_momentum": module["momentum"],
        "closed_form": closed_form,
        "keras_package": pystr(f"lrgen.{spec.stem}"),
        "schedules": schedules,
    }
    template = _environment().get_template(f"{target}_module.py.jinja")
    source, tree = finish(template.render(module=context))
    problems = name_problems(spec, target, tree, public_names(schedules, target))
    if problems:
        raise SpecError(problems)
    return source


def public_names(schedules: Sequence[ScheduleContext], target: str) -> dict[str, list[str]]:
    """Each top-level name the spec's schedule names make in a ``target`` module -> the
    schedules that make it. Every other name the module defines starts with ``_`` (which no
    spec name does) or comes from an import."""
    names: dict[str, list[str]] = {}
    for s in schedules:
        made = [s.class_name]
        if target == "torch" and not s.metric_driven:
            made += [s.name, f"{s.name}_lambda", f"{s.name}_tensor"]
        for name in made:
            names.setdefault(name, []).append(s.name)
    return names


def name_problems(
    spec: Spec, target: str, tree: ast.Module, made: Mapping[str, list[str]]
) -> list[Problem]:
    """A name the generated module binds twice would silently replace the first binding (an
    import, another schedule's function) for every schedule of the module. This counts the
    top-level bindings of the module's actual source, so it covers whatever the templates and
    printers come to define; each problem is placed at a schedule whose name made the clash."""
    imports: dict[str, list[str]] = {}
    count: dict[str, int] = {}
    for statement in tree.body:
        for name, imported in _bindings(statement):
            count[name] = count.get(name, 0) + 1
            if imported:
                imports.setdefault(name, []).append(imported)
    problems = []
    for name, schedules in made.items():
        if count.get(name, 0) < 2:
            continue
        for i, schedule in enumerate(schedules):
            if i == 0 and len(schedules) > 1:
                continue  # the clash is reported at the schedules after the first
            others = [f"schedule {o!r}" for o in schedules if o != schedule]
            others += [f"'{text}'" for text in imports.get(name, [])]
            problems.append(
                spec.problem(
                    f"schedules.{schedule}",
                    f"the generated {target} module would define {name!r} for this schedule "
                    f"and for {' and '.join(others)}: one would replace the other for every "
                    "schedule; rename the schedule",
                )
            )
    return problems


def _bindings(statement: ast.stmt) -> list[tuple[str, str | None]]:
    """The top-level names ``statement`` binds, each with the import text that binds it."""
    if isinstance(statement, ast.Import | ast.ImportFrom):
        source = f"from {statement.module} " if isinstance(statement, ast.ImportFrom) else ""
        return [
            ((alias.asname or alias.name).split(".")[0], f"{source}import {alias.name}")
            for alias in statement.names
        ]
    if isinstance(statement, ast.FunctionDef | ast.ClassDef):
        return [(statement.name, None)]
    targets = statement.targets if isinstance(statement, ast.Assign) else []
    if isinstance(statement, ast.AnnAssign):
        targets = [statement.target]
    return [(t.id, None) for t in targets if isinstance(t, ast.Name)]


def finish(source: str) -> tuple[str, ast.Module]:
    """A rendered module as lrgen writes it: laid out by lrgen itself (lrgen/layout.py), with no
    formatter involved, so the output depends on nothing installed next to lrgen; and its tree
    (parsed once: the layout keeps the tree as it is, and parsing is most of the time a large
    module takes)."""
    tree = ast.parse(source)
    return layout(source, LINE_LENGTH, tree), tree


def exports_list(names: Iterable[str]) -> str:
    """The value of ``__all__``: the names sorted, one per line."""
    ordered = sorted(names)
    if not ordered:
        return "[]"
    return "[\n" + "".join(f"    {pystr(name)},\n" for name in ordered) + "]"


def outputs(spec: Spec, out: Path, targets: Sequence[str]) -> dict[Path, str]:
    return {out / f"{spec.stem}_{target}.py": render(spec, target) for target in targets}


def build(
    paths: Sequence[str],
    out: Path,
    targets: Sequence[str],
    check: bool = False,
    echo: Callable[[str], None] = print,
) -> int:
    """Build (or check) every spec; exit codes as docs/spec.md lists them."""
    from lrgen.loader import load

    specs: list[Spec] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            specs.append(load(path))
        except SpecError as err:
            problems.extend(err.problems)
    if problems:
        for problem in sorted(problems):
            echo(str(problem))
        return 2
    from lrgen.lint import drop_ignored  # a schedule's lint: {ignore: [...]} silences these too

    if "keras" in targets:
        for warning in drop_ignored(specs, keras_momentum_warnings(specs)):
            print(warning, file=sys.stderr)
    if "optax" in targets:
        from lrgen.printers_jax import optax_warnings

        for warning in drop_ignored(specs, optax_warnings(specs)):
            print(warning, file=sys.stderr)
    stems: dict[str, str] = {}
    for spec in specs:
        name_problem = _module_name_problem(spec)
        if name_problem:
            echo(name_problem)
            return 2
        if spec.stem in stems:
            echo(
                f"{spec.path}:1:1: $: writes the same modules as {stems[spec.stem]} "
                f"({spec.stem}_*.py)"
            )
            return 2
        stems[spec.stem] = spec.path
    rendered: dict[Path, str] = {}
    for spec in specs:  # render everything before writing anything
        try:
            files = outputs(spec, out, targets)
        except SpecError as err:  # generated names that clash (name_problems)
            problems.extend(err.problems)
            continue
        too_large = _size_problem(spec, files)
        if too_large:
            echo(too_large)
            return 2
        rendered.update(files)
    if problems:
        for problem in sorted(set(problems)):
            echo(str(problem))
        return 2
    try:
        if check:
            return output.check(rendered, echo)
        output.write_all(rendered)
    except output.OutputError as err:
        print(f"lrgen build: {err}", file=sys.stderr)
        return 2
    echo(f"built {len(rendered)} file(s) in {display_path(out)}")
    return 0


def _module_name_problem(spec: Spec) -> str | None:
    """The generated modules are imported by name: the spec's file name must make one."""
    module = f"{spec.stem}_torch"
    if module.isidentifier() and not keyword.iskeyword(module):
        return None
    suggestion = re.sub(r"\W", "_", spec.stem)
    suggestion = suggestion if suggestion[:1].isalpha() else "spec_" + suggestion
    return (
        f"{display_path(spec.path)}:1:1: $: the file name '{display_path(spec.stem)}' does not "
        f"give importable Python modules ({display_path(module)}.py); name the spec file like "
        f"a Python module, e.g. {suggestion}{Path(spec.path).suffix}"
    )


def _size_problem(spec: Spec, files: dict[Path, str]) -> str | None:
    for path, text in files.items():
        if len(text) > MAX_OUTPUT_CHARS:
            return (
                f"{display_path(spec.path)}:1:1: $: the generated {path.name} would be "
                f"{len(text):,} characters; lrgen writes at most {MAX_OUTPUT_CHARS:,} per "
                "module (shorten the descriptions or split the spec)"
            )
    return None


def keras_momentum_warnings(specs: Sequence[Spec]) -> list[Problem]:
    """Schedules whose momentum cycling the Keras target cannot generate (docs/momentum.md); the
    check lives with the lint, which ``lrgen validate`` runs too."""
    from lrgen.lint import keras_momentum_warnings as check

    return check(specs)
