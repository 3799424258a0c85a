"""lrgen: define a learning-rate schedule once, generate equivalent PyTorch and Keras 3 code.

Public API (docs/spec.md, "Python API"): :func:`load`, :func:`evaluate`, :class:`SpecError`;
``lrgen.torch``, ``lrgen.keras``, ``lrgen.optax`` and ``lrgen.runtime`` (docs/runtime.md).
Imports are lazy so that ``lrgen validate`` pays only for what it uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lrgen.errors import Problem, SpecError

if TYPE_CHECKING:
    from lrgen.loader import load
    from lrgen.reference import evaluate

__all__ = ["Problem", "SpecError", "evaluate", "load"]
__version__ = "0.1.0"
#: Submodules ``lrgen.NAME`` reaches without importing them first (docs/runtime.md).
_RUNTIME = frozenset({"runtime", "torch", "keras", "optax"})


def __getattr__(name: str) -> Any:
    if name == "load":
        from lrgen.loader import load

        return load
    if name == "evaluate":
        from lrgen.reference import evaluate

        return evaluate
    if name in _RUNTIME:  # lrgen.torch.scheduler(...) after a plain ``import lrgen``
        import importlib

        return importlib.import_module(f"lrgen.{name}")
    raise AttributeError(f"module 'lrgen' has no attribute {name!r}")
