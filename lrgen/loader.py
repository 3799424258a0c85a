"""Spec text -> positioned document -> JSON Schema -> semantic checks -> IR (:mod:`lrgen.ir`).

Every problem is a :class:`lrgen.errors.Problem` with file, line, column (1-based) and JSON path,
and all of them are collected before :class:`lrgen.errors.SpecError` is raised.

Reading is safe by construction: YAML is *composed* (never constructed) with a loader whose
resolver follows the YAML 1.2 core schema (``yes``/``on`` stay strings, ``1e-4`` is a number), and
the node graph is converted here, keeping each value's place. Only the plain core tags are
accepted; anything else (``!!python/object/apply:...``) is a positioned error and is never acted
on. JSON is read by a small parser of its own so that JSON positions are exact too. Size, nesting
depth and alias expansion are bounded before any value is converted.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import json
import math
import os
import re
import stat
import textwrap
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NoReturn

import yaml

from lrgen import expr as ex
from lrgen import ir
from lrgen.errors import Problem, SpecError, display_path
from lrgen.kinds import (
    KIND_MAP,
    MAX_INT,
    MAX_LIST_ITEMS,
    MAX_NAME_LENGTH,
    MAX_NODES,
    NAME_PATTERN,
    REQUIRED,
    RESERVED_NAMES,
    STEPS_PER_EPOCH,
    UNKNOWN,
    Kind,
    Param,
    Ref,
    T,
    camel_name,
)
from lrgen.schema import DEFAULT_UNIT

__all__ = ["check_paths", "load", "load_text"]

#: Larger files are rejected before parsing.
MAX_BYTES = 1 << 20
#: Deepest nesting of mappings and lists (a spec needs about 3 levels per nested node).
MAX_DEPTH = 32
#: Most values a document may expand to, aliases included (an alias bomb stops here).
MAX_VALUES = 100_000
#: Most characters of scalars a YAML document may expand to, aliases included: no more than a
#: file of MAX_BYTES can hold without aliases (text ends up in the generated docstrings).
MAX_TEXT = MAX_BYTES

Path = tuple[str | int, ...]

_NAME_RE = re.compile(NAME_PATTERN)
_SURROGATE = re.compile("[\ud800-\udfff]")
_SIMPLE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: The functions generated per schedule: ``name``, ``name_lambda`` and the tensor variant
#: ``name_tensor`` (docs/spec.md, "What each target generates");
#: two schedules must not generate the same one.
_FUNCTION_SUFFIXES = ("", "_lambda", "_tensor")
_NUMERIC = frozenset({T.NUMBER, T.INTEGER, T.EXPR_T, T.EXPR_X})
_LISTS = frozenset({T.INT_LIST, T.NUMBER_LIST})


# --- public API -----------------------------------------------------------------------------------


def load(path: str | os.PathLike[str]) -> ir.Spec:
    """Read, validate and convert the spec file at ``path``.

    Raises :class:`SpecError` carrying every problem found, sorted by position.
    """
    data = _read(path)
    if isinstance(data, Problem):
        raise SpecError([data])
    return load_text(data, display_path(path))


def load_text(text: str | bytes, path: str | os.PathLike[str]) -> ir.Spec:
    """Validate and convert spec ``text``; ``path`` names it in problems and picks the format
    (``.json`` is JSON, anything else YAML)."""
    spec, problems = analyze(text, display_path(path))
    errors = [p for p in problems if p.severity == "error"]
    if errors or spec is None:
        raise SpecError(errors or problems)
    return spec


def check_paths(paths: Iterable[str | os.PathLike[str]]) -> list[Problem]:
    """Every problem of every file, sorted (file, line, column): what ``lrgen validate`` prints.

    A file that cannot be read is one problem at 1:1, never an exception.
    """
    problems: list[Problem] = []
    for path in paths:
        problems.extend(check_path(path)[1])
    return sorted(problems)


def check_path(path: str | os.PathLike[str]) -> tuple[ir.Spec | None, list[Problem]]:
    """One file: its spec (None when it has errors) and its problems, sorted."""
    data = _read(path)
    if isinstance(data, Problem):
        return None, [data]
    return analyze(data, display_path(path))


def analyze(text: str | bytes, file: str) -> tuple[ir.Spec | None, list[Problem]]:
    """The spec (None when there are errors) and every problem found, sorted."""
    problems, spec = _Checker(text, file).run()
    return spec, sorted(set(problems))


# --- reading and decoding -------------------------------------------------------------------------


def _read(path: str | os.PathLike[str]) -> bytes | Problem:
    file = display_path(path)
    try:
        # Non-blocking, so that opening a FIFO returns at once (to be refused below) instead of
        # waiting for a writer; regular files ignore the flag.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with open(fd, "rb") as stream:
            mode = os.fstat(fd).st_mode
            if stat.S_ISDIR(mode):
                return _file_problem(file, "is a directory, not a spec file")
            if not stat.S_ISREG(mode):
                return _file_problem(
                    file, "is not a regular file (a FIFO, socket or device); lrgen reads files"
                )
            data = stream.read(MAX_BYTES + 1)
    except (UnicodeEncodeError, ValueError):  # a lone surrogate or a NUL in the name
        return _file_problem(file, "no such file (the name is not a valid file name)")
    except FileNotFoundError:
        return _file_problem(file, "no such file")
    except IsADirectoryError:
        return _file_problem(file, "is a directory, not a spec file")
    except PermissionError:
        return _file_problem(file, "permission denied")
    except OSError as err:
        return _file_problem(file, f"cannot read the file: {err.strerror or err}")
    return data


def _file_problem(file: str, message: str) -> Problem:
    return Problem(file, 1, 1, "$", message)


class _Fatal(Exception):
    """A problem after which the document cannot be read further."""

    def __init__(self, line: int, column: int, message: str, path: Path = ()) -> None:
        super().__init__(message)
        self.line, self.column, self.message, self.path = line, column, message, path


def _decode(raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _Fatal(1, 1, "the file is UTF-16; save it as UTF-8")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        line_start = raw.rfind(b"\n", 0, err.start) + 1
        column = len(raw[line_start : err.start].decode("utf-8", "replace")) + 1
        raise _Fatal(
            line, column, f"the file is not UTF-8 text: byte 0x{raw[err.start]:02x} is invalid"
        ) from None
    return text.removeprefix("\ufeff")


#: Line breaks, as editors count lines: LF, CRLF, and a lone CR (U+0085, U+2028 and U+2029 are
#: not line breaks in YAML 1.2 or JSON, though PyYAML's marks count them).
_LINE_BREAK = re.compile(r"\r\n?|\n")


@functools.lru_cache(maxsize=4)
def _line_starts(text: str) -> list[int]:
    return [0, *(m.end() for m in _LINE_BREAK.finditer(text))]


def _position(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of character ``index`` of ``text``."""
    starts = _line_starts(text)
    line = bisect.bisect_right(starts, index)
    return line, index - starts[line - 1] + 1


#: Line breaks folded away inside a scalar (with the indentation after them).
_FOLD = re.compile(r"(?:[ \t]*(?:\r\n?|\n))+[ \t]*")
#: A backslash-escaped line break in a double-quoted scalar: it adds nothing to the value.
_ESCAPED_BREAK = re.compile(r"\\(?:\r\n?|\n)[ \t]*")


def _source_index(text: str, start: int, end: int, value: str, offset: int) -> int:
    """Where in ``text`` character ``offset`` of the scalar ``value`` (written at
    ``text[start:end]``) comes from: past quotes, escapes and folded line breaks."""
    source = text[start:end]
    quote = source[:1] if source[:1] in ("'", '"') else ""
    i, j = 0, len(quote)
    while i < offset and j < len(source):
        char = source[j]
        if char == value[i]:
            i, j = i + 1, j + 1
        elif char in "\r\n":  # a folded line break, and the indentation after it
            match = _FOLD.match(source, j)
            j = match.end() if match else j + 1
            i += value[i] in " \n"
        elif quote == '"' and char == "\\":
            j += _escape_length(source, j)
            i += source[j - 1 : j] not in ("\r", "\n")  # an escaped line break makes nothing
        elif quote == "'" and source.startswith("''", j):
            i, j = i + 1, j + 2
        else:
            j += 1
    while quote == '"' and (match := _ESCAPED_BREAK.match(source, j)):
        j = match.end()
    return start + j


def _escape_length(source: str, j: int) -> int:
    """Characters of the backslash escape at ``source[j]``."""
    kind = source[j + 1 : j + 2]
    length = {"x": 4, "u": 6, "U": 10}.get(kind, 2)
    if kind == "u" and "\ud800" <= chr(int(source[j + 2 : j + 6] or "0", 16)) < "\udc00":
        length += 6 if source.startswith("\\u", j + 6) else 0  # a surrogate pair, as in JSON
    return length


# --- the positioned document ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Span:
    """Where a value (or a key) is: 1-based line/column, and its character range in the text."""

    line: int
    column: int
    start: int
    end: int
    quoted: bool = False


@dataclass(slots=True)
class _Document:
    """A spec as plain data plus the place of every value and key, by JSON path."""

    data: Any = None
    values: dict[Path, _Span] = field(default_factory=dict)
    keys: dict[Path, _Span] = field(default_factory=dict)
    problems: list[tuple[Path, int, int, str]] = field(default_factory=list)
    duplicates: list[tuple[Path, int, int, str]] = field(default_factory=list)
    tainted: set[Path] = field(default_factory=set)
    count: int = 0

    def visit(self, path: Path, span: _Span) -> None:
        self.count += 1
        if self.count > MAX_VALUES:
            raise _Fatal(span.line, span.column, _too_many(aliases=False), path)
        if len(path) > MAX_DEPTH:
            raise _Fatal(span.line, span.column, _too_deep(), path)
        self.values[path] = span

    def text(self, path: Path, span: _Span, value: str) -> str | None:
        """A string value; None (reported) when it holds a lone surrogate (an escape such as
        ``\\ud800``: not a character, and not writable as UTF-8)."""
        surrogate = _SURROGATE.search(value)
        if surrogate:
            code = ord(surrogate.group())
            self.reject(
                path,
                span,
                f"the string holds \\u{code:04x}, half of a surrogate pair, which is not a "
                "character; write the character itself",
            )
            return None
        return value

    def too_long(self, path: Path, span: _Span, items: int) -> None:
        """A list longer than any a spec has: refused before its items are converted."""
        self.reject(path, span, f"{items} items; lrgen supports at most {MAX_LIST_ITEMS}")

    def duplicate(self, path: Path, span: _Span) -> None:
        """A key seen before in the same mapping: the first one holds (and is checked)."""
        first = self.keys[path]
        message = f"duplicate key {path[-1]!r} (first defined at line {first.line})"
        self.duplicates.append((path, span.line, span.column, message))

    def reject(self, path: Path, span: _Span, message: str) -> None:
        """A value that cannot be used: report it and keep later checks quiet about it."""
        self.problems.append((path, span.line, span.column, message))
        self.tainted.add(path)


def _too_many(aliases: bool) -> str:
    if aliases:
        return (
            f"this value expands to more than {MAX_VALUES} values through aliases (an alias bomb?)"
        )
    return f"the document has more than {MAX_VALUES} values; specs this large are not supported"


def _too_deep() -> str:
    return f"the document is nested deeper than {MAX_DEPTH} levels"


def _check_int(text: str, span: _Span, doc: _Document, path: Path) -> int | None:
    try:
        value = int(text, 0) if text.lstrip("+-")[:2].lower() in ("0x", "0o") else int(text)
    except ValueError:
        value = None
    if value is None or abs(value) > MAX_INT:
        doc.reject(path, span, f"{_short(text)} is too large: integers are limited to 2**53")
        return None
    return value


def _check_float(value: float, text: str, span: _Span, doc: _Document, path: Path) -> float | None:
    if not math.isfinite(value):
        doc.reject(path, span, f"{_short(text)} is not a finite number")
        return None
    return value


# --- YAML -----------------------------------------------------------------------------------------

_TAG = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (_TAG + t for t in ("str", "int", "float", "bool", "null"))
_MAP, _SEQ = _TAG + "map", _TAG + "seq"

# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution).
_CORE_NULL = re.compile(r"~|null|Null|NULL|")
_CORE_BOOL = re.compile(r"true|True|TRUE|false|False|FALSE")
_CORE_INT = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_CORE_FLOAT = re.compile(
    r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)


class _CoreResolver(yaml.resolver.BaseResolver):
    """Resolves plain scalars by the YAML 1.2 core schema (``yes``/``on`` stay strings)."""

    yaml_implicit_resolvers: dict[str, list[tuple[str, re.Pattern[str]]]] = {}  # noqa: RUF012


class _Composer(yaml.composer.Composer):
    """Composes only (nothing is ever constructed); bounds depth and size.

    The values the document expands to are counted while composing, an alias counting as many as
    its anchor holds, so an alias bomb is rejected at the alias that crosses the budget, before
    anything would expand it.
    """

    def __init__(self, text: str) -> None:
        super().__init__()
        self._source = text
        self._depth = 0
        # id(node) -> values it expands to (itself included), characters of its scalars
        self._sizes: dict[int, tuple[int, int]] = {}
        self._aliases = 0
        self._total = 0
        self._chars = 0

    def fatal(self, mark: yaml.Mark, message: str) -> _Fatal:
        return _Fatal(*_position(self._source, mark.index), message)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        mark = self.peek_event().start_mark
        if self.check_event(yaml.AliasEvent):
            node = super().compose_node(parent, index)
            if id(node) not in self._sizes:
                raise self.fatal(mark, "an alias refers to its own anchor")
            self._aliases += 1
            values, chars = self._sizes[id(node)]
            self._count(values, mark)
            self._count_text(chars, mark)
            return node
        self._depth += 1
        if self._depth > MAX_DEPTH + 1:  # a value at depth MAX_DEPTH is node MAX_DEPTH + 1
            raise self.fatal(mark, _too_deep())
        self._count(1, mark)
        before, chars_before = self._total, self._chars
        node = super().compose_node(parent, index)
        if isinstance(node, yaml.ScalarNode):
            self._count_text(len(node.value), mark)
        self._depth -= 1
        self._sizes[id(node)] = (self._total - before + 1, self._chars - chars_before)
        return node

    def _count_text(self, chars: int, mark: yaml.Mark) -> None:
        """Add to the characters of text the document expands to (a bound on generated text)."""
        self._chars += chars
        if self._chars > MAX_TEXT:
            raise self.fatal(
                mark,
                f"this value expands the document's text past {MAX_TEXT} characters "
                "through aliases (a bomb of long strings?)",
            )

    def _count(self, values: int, mark: yaml.Mark) -> None:
        """Add to the values the document expands to; stop as soon as there are too many."""
        self._total += values
        if self._total > MAX_VALUES:
            raise self.fatal(mark, _too_many(aliases=self._aliases > 0))


for _tag, _pattern, _first in (
    (_NULL, _CORE_NULL, ["~", "n", "N", ""]),
    (_BOOL, _CORE_BOOL, list("tTfF")),
    (_INT, _CORE_INT, list("-+0123456789")),
    (_FLOAT, _CORE_FLOAT, list("-+.0123456789")),
):
    _CoreResolver.add_implicit_resolver(_tag, re.compile(rf"^(?:{_pattern.pattern})$"), _first)


class _YamlLoader(
    yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, _Composer, _CoreResolver
):
    """PyYAML's own parser, in Python: the reference for messages and positions of bad YAML."""

    def __init__(self, text: str) -> None:
        yaml.reader.Reader.__init__(self, text)  # checks the characters
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        _Composer.__init__(self, text)
        _CoreResolver.__init__(self)


try:
    from yaml._yaml import CParser as _CParser
except ImportError:  # PyYAML without libyaml
    _FastYamlLoader: type | None = None
else:

    class _FastYamlLoader(_Composer, _CParser, _CoreResolver):  # type: ignore[no-redef]
        """libyaml's parser under the same composer: about 20 times faster on large files. Its
        marks count characters, as PyYAML's do."""

        def __init__(self, text: str) -> None:
            yaml.reader.Reader(text)  # the same character check as the Python reader
            _CParser.__init__(self, text)
            _Composer.__init__(self, text)
            _CoreResolver.__init__(self)


def _compose(text: str) -> yaml.Node | None:
    """The node graph of ``text``; libyaml's parser when there is one, but any YAML error is
    reported as PyYAML's pure-Python parser words and places it (the two differ in wording)."""
    if _FastYamlLoader is not None:
        loader = None
        try:
            loader = _FastYamlLoader(text)
            return loader.get_single_node()
        except yaml.YAMLError:
            pass  # read it again below, for PyYAML's message
        finally:
            if loader is not None:
                loader.dispose()
    loader = _YamlLoader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def _parse_yaml(text: str, doc: _Document) -> None:
    try:
        root = _compose(text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, column = _position(text, mark.index) if mark else (1, 1)
        raise _Fatal(line, column, _yaml_message(err, text) + _break_hint(text, line)) from None
    except yaml.reader.ReaderError as err:
        line, column = _position(text, err.position)
        raise _Fatal(
            line, column, f"character U+{err.character:04X} is not allowed in a YAML file"
        ) from None
    except yaml.YAMLError as err:
        raise _Fatal(1, 1, f"invalid YAML: {err}") from None
    if root is None:
        raise _Fatal(1, 1, "the document is empty: expected a mapping with 'lrgen' and 'schedules'")
    doc.data = _YamlConverter(text, doc).value(root, ())


def _break_hint(text: str, line: int) -> str:
    """Why YAML went wrong on a line that looks fine: a character that the YAML parser (YAML 1.1)
    takes for a line break, which editors do not show as one."""
    starts = _line_starts(text)
    end = starts[line] if line < len(starts) else len(text)
    odd = next((c for c in text[starts[line - 1] : end] if c in "\x85\u2028\u2029"), None)
    if odd is None:
        return ""
    return f"; this line holds U+{ord(odd):04X}, which the YAML parser reads as a line break"


def _yaml_message(err: yaml.MarkedYAMLError, text: str) -> str:
    if err.context == "expected a single document in the stream":
        return "a second YAML document starts here; a spec is one document"
    message = f"invalid YAML: {err.problem or err.context}"
    if err.context and err.problem and err.context_mark:
        message += f" ({err.context} at line {_position(text, err.context_mark.index)[0]})"
    return message


def _yaml_float(text: str) -> float:
    special = text.lstrip("+-").lower()
    if special in (".inf", ".nan"):
        return float(("-" if text.startswith("-") else "") + special[1:])
    return float(text)


def _tag_message(tag: str) -> str:
    shown = "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag
    return (
        f"tag {_printable(_short(shown))} is not allowed: a spec holds only plain values "
        "(strings, numbers, booleans, null, mappings and lists)"
    )


class _YamlConverter:
    def __init__(self, text: str, doc: _Document) -> None:
        self.text, self.doc = text, doc

    def span(self, node: yaml.Node) -> _Span:
        start, end = node.start_mark, node.end_mark
        quoted = isinstance(node, yaml.ScalarNode) and node.style in ("'", '"')
        return _Span(*_position(self.text, start.index), start.index, end.index, quoted)

    def value(self, node: yaml.Node, path: Path) -> Any:
        span = self.span(node)
        self.doc.visit(path, span)
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path) if node.tag == _MAP else self.bad_tag(node, span, path)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ:
                return self.bad_tag(node, span, path)
            if len(node.value) > MAX_LIST_ITEMS:
                return self.doc.too_long(path, span, len(node.value))
            return [self.value(item, (*path, i)) for i, item in enumerate(node.value)]
        return self.scalar(node, span, path)

    def bad_tag(self, node: yaml.Node, span: _Span, path: Path) -> None:
        self.doc.reject(path, span, _tag_message(node.tag))

    def mapping(self, node: yaml.MappingNode, path: Path) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key_span = self.span(key_node)
            key = self.key(key_node, key_span, path)
            if key is None:
                continue
            child = (*path, key)
            if key in result:
                self.doc.duplicate(child, key_span)
                continue
            self.doc.keys[child] = key_span
            result[key] = self.value(value_node, child)
        return result

    def key(self, node: yaml.Node, span: _Span, path: Path) -> str | None:
        """A mapping key: a string, or None after reporting why it is not one."""
        if isinstance(node, yaml.ScalarNode):
            if node.tag == _STR:
                return node.value
            if node.tag in (_NULL, _BOOL, _INT, _FLOAT):
                shown = _printable(_short(node.value)) or "null"
                message = f"key {shown} is not a string; quote it"
            else:
                message = _tag_message(node.tag)
        elif node.tag in (_MAP, _SEQ):
            message = "a key must be a string, not a mapping or a list"
        else:
            message = _tag_message(node.tag)
        self.doc.problems.append((path, span.line, span.column, message))
        return None

    def scalar(self, node: yaml.ScalarNode, span: _Span, path: Path) -> Any:
        tag, text = node.tag, node.value
        if tag == _STR:
            return self.doc.text(path, span, text)
        plain = text.strip()
        if tag == _NULL and _CORE_NULL.fullmatch(plain):
            return None
        if tag == _BOOL and _CORE_BOOL.fullmatch(plain):
            return plain.lower() == "true"
        if tag == _INT and _CORE_INT.fullmatch(plain):
            return _check_int(plain, span, self.doc, path)
        if tag == _FLOAT and (_CORE_FLOAT.fullmatch(plain) or _CORE_INT.fullmatch(plain)):
            return _check_float(_yaml_float(plain), plain, span, self.doc, path)
        if tag in (_NULL, _BOOL, _INT, _FLOAT):
            shown = _printable(_short(text))
            self.doc.reject(path, span, f"{shown} is not a valid !!{tag[len(_TAG) :]}")
            return None
        return self.bad_tag(node, span, path)


# --- JSON -----------------------------------------------------------------------------------------

_JSON_WS = re.compile(r"[ \t\n\r]*")
_JSON_NUMBER = re.compile(r"(-?(?:0|[1-9][0-9]*))(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_JSON_CONSTANTS = {"true": True, "false": False, "null": None}
_JSON_NON_FINITE = ("NaN", "Infinity", "-Infinity")
#: The standard library's JSON string scanner (C accelerated): text, index after the quote,
#: strict -> (string, index after the closing quote).
_scanstring: Callable[[str, int, bool], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]


class _JsonParser:
    """Strict JSON (RFC 8259) with the position of every value and key."""

    def __init__(self, text: str, doc: _Document) -> None:
        self.text, self.doc = text, doc

    def position(self, index: int) -> tuple[int, int]:
        return _position(self.text, index)

    def parse(self) -> None:
        index = self.skip(0)
        self.doc.data, index = self.value(index, ())
        index = self.skip(index)
        if index < len(self.text):
            self.fail(index, "extra data after the JSON document")

    def skip(self, index: int) -> int:
        match = _JSON_WS.match(self.text, index)
        return match.end() if match else index

    def fail(self, index: int, message: str) -> NoReturn:
        line, column = self.position(index)
        raise _Fatal(line, column, f"invalid JSON: {message}")

    def span(self, start: int, end: int, quoted: bool = False) -> _Span:
        line, column = self.position(start)
        return _Span(line, column, start, end, quoted)

    def value(self, index: int, path: Path) -> tuple[Any, int]:
        text = self.text
        char = text[index : index + 1]
        if char == "{":
            return self.object(index, path)
        if char == "[":
            return self.array(index, path)
        if char == '"':
            string, end = self.string(index)
            span = self.span(index, end, quoted=True)
            self.doc.visit(path, span)
            return self.doc.text(path, span, string), end
        number = _JSON_NUMBER.match(text, index)
        if number:
            return self.number(number, path)
        for word, constant in _JSON_CONSTANTS.items():
            if text.startswith(word, index):
                self.doc.visit(path, self.span(index, index + len(word)))
                return constant, index + len(word)
        for word in _JSON_NON_FINITE:
            if text.startswith(word, index):
                span = self.span(index, index + len(word))
                self.doc.visit(path, span)
                self.doc.reject(path, span, f"{word} is not a finite number (nor valid JSON)")
                return None, index + len(word)
        self.fail(index, "expected a value" if char else "unexpected end of the document")

    def number(self, match: re.Match[str], path: Path) -> tuple[Any, int]:
        text = match.group()
        span = self.span(match.start(), match.end())
        self.doc.visit(path, span)
        if match.group(2) or match.group(3):
            return _check_float(float(text), text, span, self.doc, path), match.end()
        return _check_int(text, span, self.doc, path), match.end()

    def string(self, index: int) -> tuple[str, int]:
        try:
            return _scanstring(self.text, index + 1, True)
        except json.JSONDecodeError as err:
            message = err.msg.removesuffix(" at")  # "Invalid control character at"
            self.fail(err.pos, message[:1].lower() + message[1:])

    def object(self, start: int, path: Path) -> tuple[dict[str, Any], int]:
        result: dict[str, Any] = {}
        self.enter(start, path)
        index = self.skip(start + 1)
        if self.text.startswith("}", index):
            self.doc.values[path] = self.span(start, index + 1)
            return result, index + 1
        while True:
            if not self.text.startswith('"', index):
                self.fail(index, "expected a string key in double quotes")
            key, end = self.string(index)
            key_span = self.span(index, end, quoted=True)
            index = self.skip(end)
            if not self.text.startswith(":", index):
                self.fail(index, "expected ':' after the key")
            child = (*path, key)
            value_start = self.skip(index + 1)
            if key in result:
                self.doc.duplicate(child, key_span)
                index = self.skip_value(value_start, child)
            else:
                self.doc.keys[child] = key_span
                result[key], index = self.value(value_start, child)
            index = self.skip(index)
            if self.text.startswith(",", index):
                index = self.skip(index + 1)
                continue
            if self.text.startswith("}", index):
                self.doc.values[path] = self.span(start, index + 1)
                return result, index + 1
            self.fail(index, "expected ',' or '}'")

    def array(self, start: int, path: Path) -> tuple[list[Any] | None, int]:
        result: list[Any] = []
        self.enter(start, path)
        index = self.skip(start + 1)
        if self.text.startswith("]", index):
            self.doc.values[path] = self.span(start, index + 1)
            return result, index + 1
        while True:
            item, index = self.value(index, (*path, len(result)))
            result.append(item)
            if len(result) > MAX_LIST_ITEMS:
                return self.too_long(start, index, path)
            index = self.skip(index)
            if self.text.startswith(",", index):
                index = self.skip(index + 1)
                continue
            if self.text.startswith("]", index):
                self.doc.values[path] = self.span(start, index + 1)
                return result, index + 1
            self.fail(index, "expected ',' or ']'")

    def too_long(self, start: int, index: int, path: Path) -> tuple[None, int]:
        """Past :data:`MAX_LIST_ITEMS`: report the list, skip the rest of it (syntax only)."""
        span = self.span(start, start + 1)
        document, self.doc = self.doc, _Document(count=self.doc.count)
        try:
            items = MAX_LIST_ITEMS + 1
            index = self.skip(index)
            while self.text.startswith(",", index):
                _, index = self.value(self.skip(index + 1), path)
                index = self.skip(index)
                items += 1
            if not self.text.startswith("]", index):
                self.fail(index, "expected ',' or ']'")
        finally:
            document.count, self.doc = self.doc.count, document
        document.values[path] = self.span(start, index + 1)
        document.too_long(path, span, items)
        return None, index + 1

    def enter(self, start: int, path: Path) -> None:
        self.doc.visit(path, self.span(start, start + 1))

    def skip_value(self, index: int, path: Path) -> int:
        """Parse the value of a duplicate key for its syntax only: it is not part of the spec."""
        document, self.doc = self.doc, _Document(count=self.doc.count)
        try:
            _, end = self.value(index, path)
        finally:
            document.count, self.doc = self.doc.count, document
        return end


# --- checking -------------------------------------------------------------------------------------


class _Checker:
    """One file's checks, in order: read -> schema -> names -> per-schedule semantics -> bind."""

    def __init__(self, text: str | bytes, file: str) -> None:
        self.file = file
        self.input = text
        self.raw = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
        self.text = ""
        self.doc = _Document()
        self.problems: list[Problem] = []
        self.problem_paths: list[Path] = []

    def run(self) -> tuple[list[Problem], ir.Spec | None]:
        try:
            self.text = self.decode()
            if self.file.lower().endswith(".json"):
                _JsonParser(self.text, self.doc).parse()
            else:
                _parse_yaml(self.text, self.doc)
        except _Fatal as fatal:
            self.take_document_problems()
            self.add(fatal.path, fatal.line, fatal.column, fatal.message)
            return self.problems, None
        self.take_document_problems()
        self.check_schema()
        self.check_names()
        entries = self.check_schedules()
        if self.problems:
            return self.problems, None
        data = self.doc.data
        spec = ir.Spec(
            path=self.file,
            sha256=hashlib.sha256(self.raw).hexdigest(),
            version=int(data["lrgen"]),
            entries=tuple(entries),
            description=data.get("description"),
            positions=MappingProxyType(
                {_format_path(p): (s.line, s.column) for p, s in self.doc.values.items()}
            ),
        )
        return self.problems, spec

    def decode(self) -> str:
        if len(self.raw) > MAX_BYTES:
            raise _Fatal(1, 1, f"the file is larger than {MAX_BYTES // 1024} KiB")
        text = _decode(self.raw) if isinstance(self.input, bytes) else self.input
        text = text.removeprefix("\ufeff")
        nul = text.find("\0")
        if nul >= 0:
            line, column = _position(text, nul)
            raise _Fatal(line, column, "the file is binary (it contains a NUL byte), not a spec")
        if not text.strip():
            raise _Fatal(1, 1, "the file is empty: expected a mapping with 'lrgen' and 'schedules'")
        return text

    # --- problems ---

    def add(self, path: Path, line: int, column: int, message: str) -> None:
        self.problems.append(Problem(self.file, line, column, _format_path(path), message))
        self.problem_paths.append(path)

    def at_value(self, path: Path, message: str) -> None:
        span = self.locate(path)
        self.add(path, span.line, span.column, message)

    def at_key(self, path: Path, message: str) -> None:
        span = self.doc.keys.get(path) or self.locate(path)
        self.add(path, span.line, span.column, message)

    def locate(self, path: Path) -> _Span:
        """The place of ``path``, or of its nearest ancestor present in the file."""
        while path and path not in self.doc.values:
            path = path[:-1]
        return self.doc.values.get(path) or _Span(1, 1, 0, 0)

    def has_problems(self, path: Path) -> bool:
        return any(p[: len(path)] == path for p in self.problem_paths)

    def take_document_problems(self) -> None:
        for path, line, column, message in self.doc.problems:
            self.add(path, line, column, message)
        for path, line, column, message in self.doc.duplicates:
            self.problems.append(Problem(self.file, line, column, _format_path(path), message))
        self.doc.problems.clear()
        self.doc.duplicates.clear()

    def tainted(self, path: Path) -> bool:
        return any(path[:n] in self.doc.tainted for n in range(len(path) + 1))

    # --- schema ---

    def check_schema(self) -> None:
        for error in _validator().iter_errors(self.doc.data):
            path = tuple(error.absolute_path)
            # Names are checked by check_names, with their reasons; a value that could not be
            # read has been reported already.
            if self.tainted(path) or "propertyNames" in error.absolute_schema_path:
                continue
            self.schema_problem(error, path)

    def schema_problem(self, error: Any, path: Path) -> None:
        keyword, instance, expected = error.validator, error.instance, error.validator_value
        if keyword == "additionalProperties":
            known = list(error.schema.get("properties", {}))
            for key in instance:
                if key not in known:
                    self.at_key((*path, key), _unknown_key(key, known, error.schema))
        elif keyword == "required":
            for name in expected:
                if name not in instance:
                    self.at_value(path, f"missing required property {name!r}")
        elif keyword == "type":
            self.at_value(path, _type_message(instance, expected))
        elif keyword in _BOUND_KEYWORDS:
            self.at_value(path, _bound_message(keyword, instance, expected))
        elif keyword == "enum" and path[-1:] == ("kind",):
            self.at_value(path, _unknown_kind(instance))
        elif keyword == "enum" and (refused := _refused_value(self.doc.data, path, instance)):
            self.at_value(path, refused)
        elif keyword == "enum":
            choices = [c for c in expected if c is not None]
            message = f"{_show(instance)} is not one of {', '.join(map(_show, expected))}"
            self.at_value(path, message + _did_you_mean(instance, choices))
        elif keyword == "const" and path == ("lrgen",):
            self.at_value(
                path,
                f"unsupported format version {_show(instance)}; this lrgen reads "
                "version 1 (`lrgen: 1`)",
            )
        elif keyword == "minProperties" and path == ("schedules",):
            self.at_value(path, "no schedules: define at least one")
        elif keyword == "minItems":
            count = "the list is empty" if not instance else f"{len(instance)} item(s)"
            self.at_value(path, f"{count}; at least {expected} needed")
        elif keyword == "maxItems":
            what = "child schedules" if path[-1:] == ("schedulers",) else "items"
            self.at_value(path, f"{len(instance)} {what}; lrgen supports at most {expected}")
        elif keyword == "maxLength":
            self.at_value(path, f"the text is {len(instance)} characters long; at most {expected}")
        else:
            self.at_value(path, error.message)

    # --- names ---

    def check_names(self) -> None:
        data = self.doc.data
        schedules = data.get("schedules") if isinstance(data, dict) else None
        if not isinstance(schedules, dict):
            return
        classes: dict[str, str] = {}  # generated class name -> schedule
        functions: dict[str, str] = {}  # generated function name -> schedule
        for name, entry in schedules.items():
            path: Path = ("schedules", name)
            problem = _name_problem(name, "schedule")
            own = [name + suffix for suffix in _FUNCTION_SUFFIXES]
            clash = next((f for f in own if f in functions), None)
            if problem:
                self.at_key(path, problem)
            elif camel_name(name) in classes:
                first = classes[camel_name(name)]
                self.at_key(
                    path,
                    f"schedule names {first!r} and {name!r} both give the class "
                    f"name {camel_name(name)!r}; rename one",
                )
            elif clash:
                self.at_key(
                    path,
                    f"schedule name {name!r} collides with the function {clash!r} generated for "
                    f"schedule {functions[clash]!r}; rename one",
                )
            else:
                classes[camel_name(name)] = name
                functions.update(dict.fromkeys(own, name))
            params = entry.get("params") if isinstance(entry, dict) else None
            for param in params if isinstance(params, dict) else ():
                problem = _name_problem(param, "parameter")
                if problem:
                    self.at_key((*path, "params", param), problem)

    # --- schedules ---

    def check_schedules(self) -> list[ir.Schedule]:
        data = self.doc.data
        schedules = data.get("schedules") if isinstance(data, dict) else None
        if not isinstance(schedules, dict):
            return []
        entries = []
        for name, entry in schedules.items():
            path: Path = ("schedules", name)
            if self.has_problems(path):  # the schema (or a name) failed: nothing to build on
                continue
            schedule = self.schedule(name, entry, path)
            if schedule is not None:
                entries.append(schedule)
        return entries

    def schedule(self, name: str, entry: Mapping[str, Any], path: Path) -> ir.Schedule | None:
        params = entry.get("params") or {}
        names = frozenset(params)
        lr = entry["lr"]
        lr_expr = (
            self.expression((*path, "lr"), ex.parse, lr, names)
            if isinstance(lr, str)
            else ex.Num(lr)
        )
        if self.too_many_nodes(entry["schedule"], (*path, "schedule")):
            return None
        if not self.steps_per_epoch_ok(entry, path):
            return None
        node = self.node(entry["schedule"], (*path, "schedule"), names, None)
        if node is None or lr_expr is None:
            return None
        schedule = ir.Schedule(
            name=name,
            lr=lr_expr,
            node=node,
            unit=entry.get("unit", DEFAULT_UNIT),
            params=tuple(params.items()),
            description=entry.get("description"),
            source=self.source(path),
            path=_format_path(path),
            lint_ignore=frozenset((entry.get("lint") or {}).get("ignore") or ()),
        )
        try:
            ir.bind(schedule)
        except ir.BindError as err:
            self.bind_problem(err, path)
            return None
        return schedule

    def steps_per_epoch_ok(self, entry: Mapping[str, Any], path: Path) -> bool:
        """For ``unit: epoch``, a param ``steps_per_epoch`` is also what the Keras schedule divides
        the optimizer step by: it must be a whole number of steps, at least 1."""
        value = (entry.get("params") or {}).get(STEPS_PER_EPOCH)
        if entry.get("unit") != "epoch" or value is None:
            return True
        if float(value).is_integer() and value >= 1:
            return True
        self.at_value(
            (*path, "params", STEPS_PER_EPOCH),
            f"{_show(value)} is not an integer >= 1: with unit: epoch, the param "
            f"{STEPS_PER_EPOCH} is also the number of optimizer steps in one epoch of the "
            "generated Keras schedule",
        )
        return False

    def too_many_nodes(self, top: Mapping[str, Any], path: Path) -> bool:
        """Report the first node (in file order) past :data:`MAX_NODES`, if any."""
        count = 0
        stack: list[tuple[Mapping[str, Any], Path]] = [(top, path)]
        while stack:
            value, where = stack.pop()
            count += 1
            if count > MAX_NODES:
                self.at_value(
                    where,
                    f"this is node {count} of the schedule; a schedule has at most {MAX_NODES} "
                    "nodes",
                )
                return True
            for param in KIND_MAP[value["kind"]].params:
                if param.type is T.NODES:
                    children = list(enumerate(value.get(param.name) or ()))
                    stack.extend((c, (*where, param.name, i)) for i, c in reversed(children))
        return False

    def node(
        self, value: Mapping[str, Any], path: Path, names: frozenset[str], parent: str | None
    ) -> ir.Node | None:
        kind = KIND_MAP[value["kind"]]
        ok = True
        if kind.metric_driven and parent is not None:
            self.at_value(
                path,
                f"{kind.name} is metric-driven: it can only be a top-level "
                f"schedule, not a child of {parent}",
            )
            ok = False
        fields: dict[str, Any] = {}
        for param in kind.params:
            if param.name not in value:
                continue
            raw = fields[param.name] = value[param.name]
            where = (*path, param.name)
            if param.type is T.NODES:
                children = [
                    self.node(child, (*where, i), names, kind.name) for i, child in enumerate(raw)
                ]
                ok = ok and all(child is not None for child in children)
                fields[param.name] = children
            elif param.type in _LISTS and raw is not None:
                for i, item in enumerate(raw):
                    if isinstance(item, str):
                        parsed = self.expression(
                            (*where, i), ir.convert_field, T.NUMBER, item, names
                        )
                        ok = ok and parsed is not None
            elif param.type in _NUMERIC and isinstance(raw, str):
                parsed = self.expression(where, ir.convert_field, param.type, raw, names)
                ok = ok and parsed is not None
        ok = self.cross_checks(kind, value, path) and ok
        if not ok:
            return None
        return ir.make_node(
            kind.name,
            path=_format_path(path),
            description=value.get("description"),
            param_names=names,
            **fields,
        )

    def expression(self, path: Path, parse: Any, *args: Any) -> Any:
        """``parse(*args)``, or None after reporting the ExprError at its column."""
        try:
            return parse(*args)
        except ex.ExprError as err:
            span = self.locate(path)
            source = next(a for a in reversed(args) if isinstance(a, str) and not isinstance(a, T))
            index = _source_index(self.text, span.start, span.end, source, err.offset)
            self.add(path, *_position(self.text, index), err.message)
            return None

    def cross_checks(self, kind: Kind, value: Mapping[str, Any], path: Path) -> bool:
        """The registry's cross-field checks on literal values, each violation at its field
        (an expression is UNKNOWN here: binding checks it, with the same message)."""
        before = len(self.problems)
        for check in kind.checks:
            violation = check.violation(lambda name: _literal(kind, value, name))
            if violation is not None:
                self.at_value((*path, *violation.field), violation.message)
        return len(self.problems) == before

    def bind_problem(self, err: ir.BindError, schedule_path: Path) -> None:
        # The field may be absent from the file (a default): use its nearest parent.
        where, message = err.path, err.message
        under = [p for p in self.doc.values if p[: len(schedule_path)] == schedule_path]
        best = max(
            (p for p in under if _is_path_prefix(_format_path(p), where)),
            key=len,
            default=schedule_path,
        )
        span = self.locate(best)
        self.problems.append(Problem(self.file, span.line, span.column, where, message))
        self.problem_paths.append(schedule_path)

    def source(self, path: Path) -> str:
        """The spec text of one schedule entry (key and value), dedented, trailing comments off."""
        key, value = self.doc.keys[path], self.doc.values[path]
        lines = self.text[key.start : value.end].splitlines()
        while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith("#")):
            lines.pop()
        if lines:
            lines[0] = " " * (key.column - 1) + lines[0]
        return textwrap.dedent("\n".join(lines))


# --- helpers --------------------------------------------------------------------------------------


@functools.cache
def _validator() -> Any:
    """The validator of the checked-in schema, built once per process."""
    from jsonschema import Draft202012Validator

    from lrgen.schema import schema

    return Draft202012Validator(schema())


_BOUND_KEYWORDS = frozenset({"minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"})
_TYPE_NAMES = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "a boolean",
    "null": "null",
    "array": "a list",
    "object": "a mapping",
}


def _format_path(path: Path) -> str:
    """``("schedules", "warm", "schedule", "schedulers", 1)`` -> ``schedules.warm.schedule
    .schedulers[1]``; ``$`` for the document; odd keys quoted: ``schedules["x; y"]``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _SIMPLE_KEY.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part)}]"
    return "$" + text if not text or text.startswith("[") else text


def _is_path_prefix(prefix: str, path: str) -> bool:
    return path == prefix or (path.startswith(prefix) and path[len(prefix)] in ".[")


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _printable(text: str) -> str:
    """``text`` with control characters escaped: a problem is one line."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def _show(value: Any) -> str:
    """A value as the user wrote it: ``true``, ``null``, ``'abc'``, ``1.5``, ``a list``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _short(repr(value))
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return repr(value)


def _type_message(instance: Any, expected: str | list[str]) -> str:
    types = [expected] if isinstance(expected, str) else list(expected)
    numeric = "integer" in types or "number" in types
    names = [
        "an expression string" if t == "string" and numeric else _TYPE_NAMES.get(t, t)
        for t in types
    ]
    wanted = " or ".join(names)
    if isinstance(instance, bool) and numeric:
        return f"{_show(instance)} is a boolean, not {wanted}"
    if isinstance(instance, list | dict):
        return f"expected {wanted}, got {_show(instance)}"
    return f"{_show(instance)} is not {wanted}"


def _bound_message(keyword: str, instance: float, limit: float) -> str:
    """The registry's own wording for a broken bound (:meth:`lrgen.kinds.Param.violation`)."""
    bound = Param(
        "",
        T.NUMBER,
        "",
        minimum=limit if keyword == "minimum" else None,
        exclusive_minimum=limit if keyword == "exclusiveMinimum" else None,
        maximum=limit if keyword == "maximum" else None,
        exclusive_maximum=limit if keyword == "exclusiveMaximum" else None,
    )
    return bound.violation(instance) or f"{instance!r} breaks the {keyword} of {limit!r}"


def _suggest(word: Any, candidates: Iterable[str]) -> str | None:
    if not isinstance(word, str):
        return None
    import difflib

    lowered = {c.lower(): c for c in candidates}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[close[0]] if close else None


def _did_you_mean(word: Any, candidates: Iterable[str]) -> str:
    match = _suggest(word, candidates)
    return f"; did you mean {match!r}?" if match else ""


def _unknown_key(key: str, known: list[str], schema: Mapping[str, Any]) -> str:
    if key == "<<":
        return "merge keys ('<<') are not supported; write the values out"
    kind = schema.get("properties", {}).get("kind", {}).get("const")
    if kind is None:
        hint = _did_you_mean(key, known) or f"; expected one of: {', '.join(known)}"
        return f"unknown key {_short(repr(key))}{hint}"
    pointer = KIND_MAP[kind].pointer(key) if kind in KIND_MAP else None
    if pointer:  # a name from torch, Keras or transformers: what this kind calls it
        return f"unknown parameter {_short(repr(key))} of {kind}; {pointer}"
    params = [k for k in known if k != "kind"]
    hint = _did_you_mean(key, params) or f"; {kind} takes {', '.join(params)}"
    return f"unknown parameter {_short(repr(key))}{hint}"


def _refused_value(data: Any, path: Path, value: Any) -> str | None:
    """The message for a choice the node's kind refuses on purpose (``Kind.foreign_values``:
    transformers' metric-driven scheduler types), or None."""
    node = data
    for part in path[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    kind = KIND_MAP.get(str(node.get("kind"))) if isinstance(node, dict) else None
    if kind is None or not isinstance(value, str):
        return None
    pointer = kind.foreign_values.get(str(path[-1]), {}).get(value)
    return f"{kind.name} does not take {path[-1]} {value}: {pointer}" if pointer else None


def _unknown_kind(kind: Any) -> str:
    hint = _did_you_mean(kind, KIND_MAP) or f"; known kinds: {', '.join(KIND_MAP)}"
    return f"unknown kind {_show(kind)}{hint}"


def _name_problem(name: str, what: str) -> str | None:
    import builtins
    import keyword

    shown = _short(repr(name))
    if len(name) > MAX_NAME_LENGTH:
        return f"{what} name {shown} is {len(name)} characters long; at most {MAX_NAME_LENGTH}"
    if not _NAME_RE.fullmatch(name):
        return (
            f"invalid {what} name {shown}: use lowercase letters, digits and '_', "
            "starting with a letter"
        )
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return f"{what} name {shown} is a Python keyword"
    if hasattr(builtins, name):
        return f"{what} name {shown} is a Python builtin"
    if name in RESERVED_NAMES:
        return f"{what} name {shown} is reserved: the generated code uses it"
    return None


def _literal(kind: Kind, value: Mapping[str, Any], name: str) -> Any:
    """A field's literal value for the cross-field checks: as written (list items and numbers
    that are expressions UNKNOWN), else its default (UNKNOWN when it refers to another field)."""
    param = kind.param_map[name]
    if name not in value:
        default = param.default
        return UNKNOWN if default is REQUIRED or isinstance(default, Ref) else default
    raw = value[name]
    if raw is None or param.type not in (*_NUMERIC, *_LISTS):
        return raw
    if param.type in _LISTS:
        return tuple(item if _is_number(item) else UNKNOWN for item in raw)
    return raw if _is_number(raw) else UNKNOWN


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
