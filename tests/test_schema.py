"""The JSON Schema: derived from the registry, checked in, valid, documented, discriminated."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from lrgen import cli, kinds
from lrgen import schema as lrgen_schema
from lrgen.kinds import REQUIRED, Ref, T

CHECKED_IN = Path(__file__).resolve().parent.parent / "spec" / "lrgen.schema.json"


def test_checked_in_schema_is_current() -> None:
    current, rendered = CHECKED_IN.read_text(encoding="utf-8"), lrgen_schema.render()
    if current != rendered:
        diff = "".join(
            difflib.unified_diff(
                current.splitlines(keepends=True),
                rendered.splitlines(keepends=True),
                "spec/lrgen.schema.json (checked in)",
                "lrgen.schema.render()",
                n=2,
            )
        )
        pytest.fail(
            "spec/lrgen.schema.json is stale; regenerate it with `python -m lrgen.schema`\n"
            + diff[:4000]
        )


def test_render_is_stable_json_with_a_trailing_newline() -> None:
    text = lrgen_schema.render()
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert text == lrgen_schema.render()
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"


def test_the_loader_uses_the_checked_in_schema() -> None:
    assert lrgen_schema.schema() == json.loads(CHECKED_IN.read_text(encoding="utf-8"))


def test_schema_is_valid_draft_2020_12_with_an_id() -> None:
    schema = lrgen_schema.build_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == "https://lrgen.dev/schema/v1/lrgen.schema.json"


def _property_maps(node: Any, where: str = "#") -> list[tuple[str, dict[str, Any]]]:
    found = []
    if isinstance(node, dict):
        if isinstance(node.get("properties"), dict):
            found.append((where, node["properties"]))
        for key, value in node.items():
            found += _property_maps(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _property_maps(value, f"{where}/{i}")
    return found


def test_every_property_has_a_title_or_description() -> None:
    maps = _property_maps(lrgen_schema.build_schema())
    assert len(maps) > len(kinds.KINDS)
    missing = [
        f"{where}/{name}"
        for where, properties in maps
        for name, prop in properties.items()
        if "$ref" not in prop and not (prop.get("title") or prop.get("description"))
    ]
    assert missing == []


def test_each_kind_is_derived_from_the_registry() -> None:
    defs = lrgen_schema.build_schema()["$defs"]
    assert defs["node"]["properties"]["kind"]["enum"] == [k.name for k in kinds.KINDS]
    for kind in kinds.KINDS:
        definition = defs[kind.name]
        assert definition["additionalProperties"] is False
        props = definition["properties"]
        assert list(props) == ["kind", "description", *(p.name for p in kind.params)]
        assert definition["required"] == ["kind", *(p.name for p in kind.params if p.required)]
        for param in kind.params:
            prop = props[param.name]
            assert prop["description"].startswith(param.doc)
            for attr, keyword in (
                ("minimum", "minimum"),
                ("exclusive_minimum", "exclusiveMinimum"),
                ("maximum", "maximum"),
                ("exclusive_maximum", "exclusiveMaximum"),
            ):
                bound = getattr(param, attr)
                holder = prop["items"] if param.type in (T.INT_LIST, T.NUMBER_LIST) else prop
                if param.type in (T.NUMBER, T.INTEGER, T.INT_LIST, T.NUMBER_LIST):
                    assert holder.get(keyword) == bound, (kind.name, param.name, keyword)
            if param.default is REQUIRED or isinstance(param.default, Ref):
                assert "default" not in prop
            else:
                assert prop["default"] == param.default
            if param.type is T.CHOICE:
                assert prop["enum"] == [*param.choices, *([None] if param.nullable else [])]
            if param.nullable and param.type is not T.CHOICE:
                assert "null" in prop["type"]


def test_every_kind_has_a_discriminated_branch() -> None:
    branches = lrgen_schema.build_schema()["$defs"]["node"]["allOf"]
    assert [b["if"]["properties"]["kind"]["const"] for b in branches] == [
        k.name for k in kinds.KINDS
    ]
    assert all(
        b["then"] == {"$ref": f"#/$defs/{b['if']['properties']['kind']['const']}"} for b in branches
    )


def _errors(document: Any) -> list[Any]:
    return list(Draft202012Validator(lrgen_schema.build_schema()).iter_errors(document))


def _spec(node: dict[str, Any], **entry: Any) -> dict[str, Any]:
    return {"lrgen": 1, "schedules": {"warm": {"lr": 0.1, "schedule": node, **entry}}}


def test_a_valid_document_has_no_errors() -> None:
    node = {
        "kind": "SequentialLR",
        "milestones": ["warmup"],
        "schedulers": [
            {"kind": "LinearWarmup", "warmup_steps": "warmup", "description": "ramp"},
            {"kind": "CosineAnnealingLR", "T_max": 1000, "eta_min": 0},
        ],
    }
    assert _errors(_spec(node, params={"warmup": 10}, unit="epoch", description="d")) == []


def test_an_error_lands_in_the_branch_of_the_written_kind() -> None:
    node = {
        "kind": "SequentialLR",
        "milestones": [1],
        "schedulers": [{"kind": "Constant"}, {"kind": "CosineAnnealingLR", "T_max": 0}],
    }
    [error] = _errors(_spec(node))
    assert error.validator == "minimum"
    assert list(error.absolute_path) == ["schedules", "warm", "schedule", "schedulers", 1, "T_max"]
    # the path through the schema goes through the CosineAnnealingLR branch of the node's allOf
    schema_path = list(error.absolute_schema_path)
    branch = schema_path[len(schema_path) - 1 - schema_path[::-1].index("allOf") + 1]
    assert kinds.KINDS[branch].name == "CosineAnnealingLR"


@pytest.mark.parametrize(
    ("node", "validator"),
    [
        ({"kind": "StepLR", "step_size": 1.5}, "type"),
        ({"kind": "StepLR", "step_size": True}, "type"),
        ({"kind": "StepLR", "step_size": "n", "gamma": 0}, "exclusiveMinimum"),
        ({"kind": "OneCycleLR", "max_lr": 1, "pct_start": 1}, "exclusiveMaximum"),
        ({"kind": "OneCycleLR", "max_lr": 1, "anneal_strategy": "cosine"}, "enum"),
        ({"kind": "StepLR", "step_size": 1, "step_sise": 1}, "additionalProperties"),
        ({"kind": "StepLr"}, "enum"),
        ({"kind": "MultiStepLR", "milestones": []}, "minItems"),
        ({"kind": "ChainedScheduler", "schedulers": [5]}, "type"),
    ],
)
def test_bad_nodes_give_one_precise_error(node: dict[str, Any], validator: str) -> None:
    assert [e.validator for e in _errors(_spec(node))] == [validator]


def test_expressions_are_strings_and_bounds_apply_to_numbers_only() -> None:
    assert _errors(_spec({"kind": "StepLR", "step_size": "total // 4"})) == []
    assert [e.validator for e in _errors(_spec({"kind": "StepLR", "step_size": 0}))] == ["minimum"]


def test_top_level_rules() -> None:
    good = _spec({"kind": "Constant"})
    assert [e.validator for e in _errors({**good, "lrgen": 2})] == ["const"]
    assert [e.validator for e in _errors({"lrgen": 1, "schedules": {}})] == ["minProperties"]
    assert [e.validator for e in _errors({"lrgen": 1})] == ["required"]
    bad_name = {"lrgen": 1, "schedules": {"Warm": good["schedules"]["warm"]}}
    assert [e.validator for e in _errors(bad_name)] == ["pattern"]
    assert [e.validator for e in _errors(_spec({"kind": "Constant"}, unit="epochs"))] == ["enum"]
    assert [e.validator for e in _errors(_spec({"kind": "Constant"}, lr=0))] == ["exclusiveMinimum"]
    assert [e.validator for e in _errors(_spec({"kind": "Constant"}, params={"a": "1"}))] == [
        "type"
    ]


def test_lrgen_schema_prints_the_checked_in_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["schema"]) == 0
    assert capsys.readouterr().out == CHECKED_IN.read_text(encoding="utf-8")


def test_python_m_lrgen_schema_writes_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "lrgen.schema.json"
    target.write_text("{}\n", encoding="utf-8")
    assert lrgen_schema.main([str(target)]) == 0
    assert target.read_text(encoding="utf-8") == lrgen_schema.render()
    assert lrgen_schema.main([str(target)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"wrote {target}", f"{target} is up to date"]


def test_the_maintainers_regeneration_command_answers_help_without_writing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``python -m lrgen.schema --help`` once wrote the schema to a file named ``--help``."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        lrgen_schema.main(["--help"])
    assert exit_info.value.code == 0
    assert "usage: python -m lrgen.schema [-h] [file]" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []
