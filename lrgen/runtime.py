"""Use a spec at run time, without ``lrgen build``: the generated module, compiled in memory.

:func:`module` renders a spec's module for one target with the function ``lrgen build`` writes
files with (:func:`lrgen.generate.render`: the same text, byte for byte), compiles it, and
registers it in ``sys.modules`` under a name made from the spec's file name, the target and the
text's sha256 (:func:`module_name`). The name is the same in every process that loads the same
spec file with the same lrgen, so pickles of the generated objects load wherever the spec is
loaded first. ``lrgen.torch``, ``lrgen.keras`` and ``lrgen.optax`` are thin front ends that pick
one schedule from the module. docs/runtime.md tells the whole story.
"""

from __future__ import annotations

import hashlib
import linecache
import os
import re
import stat
import sys
import threading
import types
import warnings
from typing import Any

from lrgen.errors import Problem, SpecError
from lrgen.ir import Spec

#: What ``module`` accepts as a spec: a path to a spec file, or a spec already loaded.
SpecLike = str | os.PathLike[str] | Spec

#: The prefix of every runtime module's name in ``sys.modules``.
PREFIX = "lrgen._runtime."

#: (path as given, sha256 of its bytes) -> the spec loaded from them.
_specs: dict[tuple[str, str], Spec] = {}
#: (spec path, spec sha256, target) -> the compiled module.
_cache: dict[tuple[str, str, str], types.ModuleType] = {}
_lock = threading.Lock()


def load_spec(spec: SpecLike) -> Spec:
    """``spec`` itself, or the spec loaded (and validated) from that path: :class:`SpecError`
    with every problem at its position when the file is not a valid spec."""
    if isinstance(spec, Spec):
        return spec
    if isinstance(spec, str | os.PathLike):
        from lrgen.loader import load

        key = _file_key(spec)
        with _lock:
            known = _specs.get(key) if key else None
        if known is not None:
            return known
        loaded = load(spec)
        if key and key[1] == loaded.sha256:  # not rewritten in between
            with _lock:
                _specs[key] = loaded
        return loaded
    raise TypeError(f"expected a spec file path or an lrgen Spec, got {type(spec).__name__}")


def _file_key(path: str | os.PathLike[str]) -> tuple[str, str] | None:
    """(path, sha256 of the bytes) of a readable regular file within the loader's size limit,
    so that an unchanged file is validated once; None sends every other case to the loader
    (and its positioned problems)."""
    from lrgen.loader import MAX_BYTES

    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_BYTES:
            return None
        with open(path, "rb") as stream:
            data = stream.read(MAX_BYTES + 1)
    except (OSError, ValueError):
        return None
    return os.fspath(path), hashlib.sha256(data).hexdigest()


def source(spec: SpecLike, target: str) -> str:
    """The text ``lrgen build --target TARGET`` writes to ``STEM_TARGET.py`` for ``spec``."""
    from lrgen.generate import render

    return render(load_spec(spec), _checked_target(target))


def module_name(spec: Spec, target: str, text: str) -> str:
    """``lrgen._runtime.STEM_TARGET_DIGEST``: stable across processes, unique per module text."""
    stem = re.sub(r"\W", "_", spec.stem, flags=re.ASCII) or "spec"
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return f"{PREFIX}{stem}_{target}_{digest}"


def module(spec: SpecLike, target: str) -> types.ModuleType:
    """The generated ``target`` module of ``spec``, compiled in memory and cached per (spec
    path, spec sha256, target): a second call with an unchanged file returns the same module,
    so its classes stay the same classes."""
    target = _checked_target(target)
    loaded = load_spec(spec)
    key = (loaded.path, loaded.sha256, target)
    with _lock:
        cached = _cache.get(key)
        if cached is not None:
            return cached
        made = _compile(loaded, target)
        _cache[key] = made
    return made


def lookup(spec: SpecLike, target: str, name: str, attribute: str) -> Any:
    """``attribute`` of schedule ``name``'s generated code in ``spec``'s ``target`` module.

    ``attribute`` is ``"class"`` (the class, e.g. ``WarmupCosine``) or a suffix of the schedule
    name (``""`` for ``warmup_cosine``, ``"_lambda"``, ``"_tensor"``)."""
    loaded = load_spec(spec)
    schedule = loaded.schedules.get(name)
    if schedule is None:
        known = ", ".join(loaded.schedules)
        raise KeyError(f"{loaded.path} has no schedule {name!r}; it has: {known}")
    made = module(loaded, target)
    attr = schedule.class_name if attribute == "class" else name + attribute
    if not hasattr(made, attr):
        what = "a class" if attribute == "class" else f"{attr}()"
        raise ValueError(
            f"schedule {name!r} in {loaded.path} has no {what} in the {target} target "
            f"(a {schedule.node.kind} schedule; docs/spec.md lists what each target generates)"
        )
    return getattr(made, attr)


def clear_cache() -> None:
    """Forget the loaded specs and compiled modules (``sys.modules`` keeps the entries, so
    that pickles made from them still load)."""
    with _lock:
        _specs.clear()
        _cache.clear()


def _checked_target(target: str) -> str:
    from lrgen.generate import TARGETS

    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; choose from {', '.join(TARGETS)}")
    return target


def _compile(spec: Spec, target: str) -> types.ModuleType:
    from lrgen.generate import render
    from lrgen.kinds import MAX_OUTPUT_CHARS

    text = render(spec, target)
    if len(text) > MAX_OUTPUT_CHARS:  # what lrgen build refuses to write
        message = (
            f"the generated {spec.stem}_{target}.py would be {len(text):,} characters; lrgen "
            f"writes at most {MAX_OUTPUT_CHARS:,} per module (shorten the descriptions or split "
            "the spec)"
        )
        raise SpecError([Problem(spec.path, 1, 1, "$", message)])
    _warn(spec, target)
    name = module_name(spec, target, text)
    existing = sys.modules.get(name)
    if existing is not None and getattr(existing, "__lrgen_source__", None) == text:
        return existing  # the same text from another path: the same classes
    filename = f"<lrgen:{spec.stem}_{target}>"
    code = compile(text, filename, "exec", dont_inherit=True)
    made = types.ModuleType(name, None)
    made.__lrgen_source__ = text  # type: ignore[attr-defined]
    made.__lrgen_spec__ = spec.path  # type: ignore[attr-defined]
    # Tracebacks and inspect show the generated lines (a None mtime: never evicted).
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    sys.modules[name] = made
    try:
        exec(code, made.__dict__)  # lrgen's own rendered module text
    except BaseException:
        del sys.modules[name]
        raise
    return made


def _warn(spec: Spec, target: str) -> None:
    """What ``lrgen build`` prints on stderr for this target, as Python warnings."""
    if target == "keras":
        from lrgen.generate import keras_momentum_warnings

        problems = keras_momentum_warnings([spec])
    elif target == "optax":
        from lrgen.printers_jax import optax_warnings

        problems = optax_warnings([spec])
    else:
        return
    for problem in problems:
        warnings.warn(str(problem), UserWarning, stacklevel=_caller_level())


def _caller_level() -> int:
    """The ``stacklevel`` of the first frame outside lrgen, seen from :func:`_warn`."""
    frame = sys._getframe(2)  # _warn's caller
    level = 2
    while frame.f_back is not None and frame.f_globals.get("__name__", "").startswith("lrgen."):
        frame = frame.f_back
        level += 1
    return level
