"""The JSON Schema of spec files, derived from the kinds registry (:mod:`lrgen.kinds`).

:func:`build_schema` writes the schema from :data:`lrgen.kinds.KINDS` and
:data:`lrgen.kinds.SCHEDULE_FIELDS`; nothing in it is written per kind. The rendered text is
checked in as ``spec/lrgen.schema.json`` (shipped as package data ``lrgen.spec``) and a test fails
when it is stale. Regenerate it with::

    python -m lrgen.schema

The loader validates against the checked-in file (:func:`schema`), so what editors see is exactly
what ``lrgen validate`` enforces.

Design: a node is an object with a required ``kind`` (an enum of every kind) and, for each kind,
``if {kind: const K} then {$ref: #/$defs/K}``, so an error lands in the branch of the kind the
user wrote rather than in a ``oneOf`` soup. Numeric fields are ``type: [number, string]`` with the
registry's bounds: JSON Schema applies ``minimum`` and friends to numbers only, so a string (an
expression over params, checked by the loader) passes while a literal is bounded.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any

from lrgen import kinds
from lrgen.kinds import Param, Ref, T

SCHEMA_ID = "https://lrgen.dev/schema/v1/lrgen.schema.json"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_FILE = "lrgen.schema.json"
#: The format version this lrgen reads (``lrgen: 1``).
VERSION = 1
#: What the counter ``t`` of a schedule counts; the first is the default.
UNITS = ("step", "epoch")
DEFAULT_UNIT = UNITS[0]

_NAME_RULE = {"pattern": kinds.NAME_PATTERN, "maxLength": kinds.MAX_NAME_LENGTH}
_BOUNDS = (
    ("minimum", "minimum"),
    ("exclusive_minimum", "exclusiveMinimum"),
    ("maximum", "maximum"),
    ("exclusive_maximum", "exclusiveMaximum"),
)
_EXPRESSION = "an expression over the schedule's params (a string)"
_SHAPES = {
    T.NUMBER: "A number",
    T.INTEGER: "An integer",
    T.NUMBER_LIST: "Items: numbers",
    T.INT_LIST: "Items: integers",
}


def build_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of spec files, derived from the kinds registry."""
    defs: dict[str, Any] = {"schedule": _schedule_schema(), "node": _node_schema()}
    for kind in kinds.KINDS:
        defs[kind.name] = _kind_schema(kind)
    return {
        "$schema": DRAFT,
        "$id": SCHEMA_ID,
        "title": "lrgen spec",
        "description": "Learning-rate schedules that lrgen compiles into PyTorch and Keras code.",
        "type": "object",
        "required": ["lrgen", "schedules"],
        "additionalProperties": False,
        "properties": {
            "$schema": {
                "type": "string",
                "description": "The JSON Schema of this file, for editors (ignored by lrgen).",
            },
            "lrgen": {
                "const": VERSION,
                "description": f"Format version of the spec file: {VERSION}.",
            },
            "description": {
                "type": "string",
                "maxLength": kinds.MAX_DESCRIPTION,
                "description": "What the schedules of this file are for.",
            },
            "schedules": {
                "type": "object",
                "description": "The schedules: name -> schedule, at least one. A name becomes a "
                "snake_case function and a CamelCase class in the generated code.",
                "minProperties": 1,
                "propertyNames": dict(_NAME_RULE),
                "additionalProperties": {"$ref": "#/$defs/schedule"},
            },
        },
        "$defs": defs,
    }


def _schedule_schema() -> dict[str, Any]:
    shapes: dict[str, dict[str, Any]] = {
        "description": {"type": "string", "maxLength": kinds.MAX_DESCRIPTION},
        "lr": {"type": ["number", "string"], "exclusiveMinimum": 0},
        "unit": {"enum": list(UNITS), "default": DEFAULT_UNIT},
        "params": {
            "type": "object",
            "propertyNames": dict(_NAME_RULE),
            "additionalProperties": {"type": "number"},
        },
        "schedule": {"$ref": "#/$defs/node"},
        "lint": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "ignore": {
                    "type": "array",
                    "items": {"enum": list(kinds.LINT_CODES)},
                    "description": "Warning codes not to report for this schedule: "
                    + ", ".join(f"`{code}`" for code in kinds.LINT_CODES)
                    + ".",
                }
            },
        },
    }
    properties = {
        f.name: {**shapes[f.name], **f.extra, "description": f.doc} for f in kinds.SCHEDULE_FIELDS
    }
    return {
        "type": "object",
        "title": "schedule",
        "description": "One learning-rate schedule.",
        "required": ["lr", "schedule"],
        "additionalProperties": False,
        "properties": properties,
    }


def _node_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "title": "node",
        "description": "A schedule node: a `kind` and that kind's parameters.",
        "required": ["kind"],
        "properties": {
            "kind": {
                "enum": [kind.name for kind in kinds.KINDS],
                "description": "The kind of schedule; decides which parameters are allowed.",
            },
        },
        "allOf": [
            {
                "if": {
                    "type": "object",
                    "required": ["kind"],
                    "properties": {
                        "kind": {"const": kind.name, "description": f"Selects {kind.name}."}
                    },
                },
                "then": {"$ref": f"#/$defs/{kind.name}"},
            }
            for kind in kinds.KINDS
        ],
    }


def _kind_schema(kind: kinds.Kind) -> dict[str, Any]:
    description = kind.summary
    if kind.origin:
        description += f" Mirrors `{kind.origin}`."
    properties: dict[str, Any] = {
        "kind": {"const": kind.name, "description": kind.summary},
        "description": {
            "type": "string",
            "maxLength": kinds.MAX_DESCRIPTION,
            "description": "What this node is for; ends up in the generated docstrings.",
        },
    }
    for param in kind.params:
        properties[param.name] = _param_schema(param)
    return {
        "type": "object",
        "title": kind.name,
        "description": description,
        "required": ["kind", *(p.name for p in kind.params if p.required)],
        "additionalProperties": False,
        "properties": properties,
    }


def _param_schema(param: Param) -> dict[str, Any]:
    schema: dict[str, Any] = {"description": _param_doc(param)}
    nullable = ["null"] if param.nullable else []
    match param.type:
        case T.NUMBER | T.INTEGER:
            schema["type"] = [str(param.type), "string", *nullable]
            schema.update(_bounds(param))
        case T.INT_LIST | T.NUMBER_LIST:
            item = "integer" if param.type is T.INT_LIST else "number"
            schema["type"] = ["array", *nullable]
            schema["items"] = {"type": [item, "string"], **_bounds(param)}
            if param.min_items:
                schema["minItems"] = param.min_items
            schema["maxItems"] = kinds.MAX_LIST_ITEMS
        case T.EXPR_T | T.EXPR_X:
            schema["type"] = ["string", "number", *nullable]
        case T.NODES:
            schema["type"] = "array"
            schema["items"] = {"$ref": "#/$defs/node"}
            if param.min_items:
                schema["minItems"] = param.min_items
            schema["maxItems"] = kinds.MAX_CHILDREN
        case T.CHOICE:
            schema["enum"] = [*param.choices, *([None] if param.nullable else [])]
        case T.BOOLEAN | T.STRING:
            schema["type"] = [str(param.type), *nullable]
    if not param.required and not isinstance(param.default, Ref):
        schema["default"] = param.default
    return schema


def _param_doc(param: Param) -> str:
    doc = param.doc
    shape = _SHAPES.get(param.type)
    if shape:
        bounds = param.bounds_text()
        doc += f" {shape}{' ' + bounds if bounds else ''}, or {_EXPRESSION}."
    if isinstance(param.default, Ref) and param.default.field != "lr":
        doc += f" Defaults to `{param.default.field}`."
    return doc


def _bounds(param: Param) -> dict[str, float]:
    return {
        keyword: getattr(param, attr)
        for attr, keyword in _BOUNDS
        if getattr(param, attr) is not None
    }


def render() -> str:
    """The schema as stable JSON text (``indent=2``, trailing newline), as checked in."""
    return json.dumps(build_schema(), indent=2, ensure_ascii=False) + "\n"


def checked_in_path() -> Path:
    """Where the schema lives in a source checkout: ``spec/lrgen.schema.json``."""
    return Path(__file__).resolve().parent.parent / "spec" / SCHEMA_FILE


@functools.cache
def schema() -> dict[str, Any]:
    """The checked-in schema (package data ``lrgen.spec``), parsed once."""
    from importlib import resources

    text = (resources.files("lrgen.spec") / SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def main(argv: list[str] | None = None) -> int:
    """``python -m lrgen.schema [FILE]``: write the schema (default ``spec/lrgen.schema.json``)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m lrgen.schema",
        description="Regenerate the JSON Schema from the kinds registry (maintainers' tool; "
        "users print it with `lrgen schema`).",
    )
    parser.add_argument(
        "file",
        nargs="?",
        type=Path,
        help="where to write it (default: %(default)s)",
        default=checked_in_path(),
    )
    target = parser.parse_args(sys.argv[1:] if argv is None else argv).file
    text = render()
    if target.exists() and target.read_text(encoding="utf-8") == text:
        print(f"{target} is up to date")
        return 0
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
