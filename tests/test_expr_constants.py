"""The expression language's constants ``pi`` and ``e`` mean NumPy's, on the reference and the
generated code. The reference and the lowering both read ``lrgen.expr.CONSTANTS``, so comparing
them with each other cannot notice a wrong constant: here both are compared with values computed
independently, by NumPy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import lrgen
import lrgen.runtime

STEPS = np.arange(0, 41)
CASES = {
    "decay_e": ("e ** (-t / 10)", np.exp(-STEPS / 10)),
    "wave_pi": ("0.5 + 0.5 * cos(pi * t / 20)", 0.5 + 0.5 * np.cos(np.pi * STEPS / 20)),
    "both": ("log(e) * sin(pi / 2) * e ** (-t / 7)", np.exp(-STEPS / 7)),
}


@pytest.fixture(scope="module")
def spec_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lines = ["lrgen: 1", "schedules:"]
    for name, (text, _) in CASES.items():
        lines += [f"  {name}:", "    lr: 0.5", "    schedule:", "      kind: LambdaLR"]
        lines.append(f'      lr_lambda: "{text}"')
    path = tmp_path_factory.mktemp("constants") / "constants.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("name", sorted(CASES))
def test_constants_mean_numpys(spec_path: Path, name: str) -> None:
    expected = 0.5 * CASES[name][1]
    reference = lrgen.evaluate(lrgen.load(spec_path).schedules[name], STEPS)
    np.testing.assert_allclose(reference, expected, rtol=1e-13, atol=0)
    function = getattr(lrgen.runtime.module(spec_path, "torch"), name)
    generated = np.array([function(int(t)) for t in STEPS])
    np.testing.assert_allclose(generated, expected, rtol=1e-13, atol=0)
