"""``lrgen init [RECIPE] [-o FILE]``: write a commented starter spec for a common recipe.

The recipes are YAML files shipped in :mod:`lrgen.recipes`; each one validates, and none draws a
warning from ``lrgen validate --strict``.
"""

from __future__ import annotations

import argparse
import os
import sys
from importlib import resources

from lrgen.commands import EXIT_INVALID, EXIT_OK
from lrgen.output import OutputError, write_atomically

#: recipe -> one line for ``--list``
RECIPES: dict[str, str] = {
    "warmup-cosine": "linear warmup, then cosine decay (SequentialLR of LinearLR, "
    "CosineAnnealingLR)",
    "1cycle": "1cycle: warm up to max_lr, anneal far below (OneCycleLR)",
    "step": "divide by 10 every 30 epochs (StepLR)",
    "plateau": "halve the rate when the validation loss stalls (ReduceLROnPlateau)",
    "sgdr": "cosine annealing with warm restarts (CosineAnnealingWarmRestarts)",
    "wsd": "warmup, stable plateau, 1-sqrt cooldown (WarmupStableDecay)",
}
DEFAULT_RECIPE = "warmup-cosine"


def recipe_text(name: str) -> str:
    """The starter spec of recipe ``name`` (a key of :data:`RECIPES`)."""
    if name not in RECIPES:
        raise KeyError(name)
    return resources.files("lrgen.recipes").joinpath(f"{name}.yaml").read_text(encoding="utf-8")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "recipe",
        nargs="?",
        default=DEFAULT_RECIPE,
        choices=list(RECIPES),
        metavar="RECIPE",
        help=f"one of {', '.join(RECIPES)} (default {DEFAULT_RECIPE})",
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="write the spec here (default: print it)"
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing FILE")
    parser.add_argument("--list", action="store_true", help="list the recipes and exit")


def run(args: argparse.Namespace) -> int:
    if args.list:
        width = max(map(len, RECIPES))
        for name, summary in RECIPES.items():
            print(f"{name.ljust(width)}  {summary}")
        return EXIT_OK
    text = recipe_text(args.recipe)
    if args.output is None:
        sys.stdout.write(text)
        return EXIT_OK
    if os.path.exists(args.output) and not args.force:
        print(
            f"lrgen init: {args.output} already exists; use --force to overwrite it",
            file=sys.stderr,
        )
        return EXIT_INVALID
    try:
        write_atomically(args.output, lambda handle: handle.write(text))
    except OutputError as err:
        print(f"lrgen init: {err}", file=sys.stderr)
        return EXIT_INVALID
    print(f"wrote {args.output} ({args.recipe}); next: lrgen show {args.output}", file=sys.stderr)
    return EXIT_OK
