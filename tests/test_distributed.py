"""Generated schedules in distributed training: torch DDP on gloo, Keras MirroredStrategy.

* torch: two processes (``torch.multiprocessing.spawn``, gloo, rendezvous through a file in the
  test's temporary directory: no TCP port to race for) each train a DDP-wrapped tiny model for
  50 steps with the generated scheduler (a schedule with params, and a OneCycleLR that also
  cycles the momentum). The learning rate (and momentum) of every step is identical on both
  ranks and equals the reference; the ranks end with identical weights.
* Keras: a subprocess configures two logical CPU devices before TensorFlow initialises, then
  trains a tiny model under ``tf.distribute.MirroredStrategy`` with the generated schedule; at
  every batch the schedule is evaluated on both replicas (``strategy.run``) and the optimizer's
  learning rate is recorded: equal on both replicas, and equal to the reference by the float32
  rule.

Run as a script (``python tests/test_distributed.py keras REQUEST RESULT``) this module is the
Keras subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from lrgen.kinds import camel_name
from tests.frameworks import import_path

ROOT = Path(__file__).resolve().parents[1]
STEPS = 50
WORLD = 2
SPEC = """\
lrgen: 1
schedules:
  warm_cos:
    lr: 0.05
    params: {total: 40, warm: 8}
    schedule:
      kind: SequentialLR
      milestones: [warm]
      schedulers:
        - {kind: LinearLR, start_factor: 0.1, total_iters: warm}
        - {kind: CosineAnnealingLR, T_max: "total - warm", eta_min: 0.001}
  one_cycle:
    lr: 0.1
    schedule: {kind: OneCycleLR, max_lr: 0.1, total_steps: 45, three_phase: true}
"""
PARAMS = {"warm_cos": {"total": 44, "warm": 6}, "one_cycle": {}}


# --- torch --------------------------------------------------------------------------------------


def _rendezvous(out_dir: str) -> str:
    """A file rendezvous in the test's own directory. A TCP port picked free by the parent (bind
    to port 0, close, hand the number to the ranks) can be taken by another process before rank 0
    listens on it: the test failed about once in ten runs that way."""
    return Path(out_dir, "rendezvous").resolve().as_uri()


def _torch_rank(rank: int, module_path: str, out_dir: str) -> None:
    """One DDP rank: train STEPS steps per schedule, write the lr/momentum trace and weights."""
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    dist.init_process_group("gloo", init_method=_rendezvous(out_dir), rank=rank, world_size=WORLD)
    try:
        mod = import_path(Path(module_path), prefix="_lrgen_dist")
        result: dict[str, Any] = {}
        for name, params in PARAMS.items():
            torch.manual_seed(0)  # same initial weights on both ranks
            model = DistributedDataParallel(torch.nn.Linear(3, 1))
            lr = {"warm_cos": 0.05, "one_cycle": 0.1}[name]
            opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
            sched = getattr(mod, camel_name(name))(opt, **params)
            gen = torch.Generator().manual_seed(100 + rank)  # different data on each rank
            lrs, momenta = [], []
            for _ in range(STEPS):
                lrs.append(opt.param_groups[0]["lr"])
                momenta.append(opt.param_groups[0]["momentum"])
                x = torch.randn(4, 3, generator=gen)
                loss = (model(x) - x.sum(dim=1, keepdim=True)).pow(2).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
            weights = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
            result[name] = {"lr": lrs, "momentum": momenta, "weights": weights.tolist()}
        Path(out_dir, f"rank{rank}.json").write_text(json.dumps(result))
    finally:
        dist.destroy_process_group()


def test_torch_ddp_gloo_two_ranks(tmp_path: Path) -> None:
    import torch.multiprocessing as mp

    import lrgen
    from lrgen.loader import load_text
    from lrgen.reference import momentum
    from tests.frameworks import float64_close
    from tests.strategies import generated_module

    spec = load_text(SPEC, "dist.yaml")
    module = generated_module(spec, "torch")
    mp.spawn(
        _torch_rank,
        args=(module.__file__, str(tmp_path)),
        nprocs=WORLD,
        join=True,
    )
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(WORLD)]
    for name, params in PARAMS.items():
        first, second = ranks[0][name], ranks[1][name]
        assert first["lr"] == second["lr"], name
        assert first["momentum"] == second["momentum"], name
        assert first["weights"] == second["weights"], name  # DDP kept the replicas in step
        schedule = spec.schedules[name]
        ref = lrgen.evaluate(schedule, np.arange(STEPS), params=params)
        assert float64_close(np.array(first["lr"]), ref).all(), name
        mom = momentum(schedule, np.arange(STEPS), params)
        if mom is not None:
            assert float64_close(np.array(first["momentum"]), mom).all(), name


# --- keras -------------------------------------------------------------------------------------


def _keras_worker(request_path: str, result_path: str) -> None:
    """Subprocess: two logical CPUs, MirroredStrategy, train, record the lr per batch."""
    os.environ["KERAS_BACKEND"] = "tensorflow"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
    )
    import keras

    request = json.loads(Path(request_path).read_text())
    mod = import_path(Path(request["module"]), prefix="_lrgen_dist")
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    result: dict[str, Any] = {"replicas": strategy.num_replicas_in_sync}

    class Record(keras.callbacks.Callback):
        def __init__(self, schedule: Any) -> None:
            super().__init__()
            self.schedule, self.lr, self.per_replica = schedule, [], []

        def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
            optimizer = self.model.optimizer
            self.lr.append(float(keras.ops.convert_to_numpy(optimizer.learning_rate)))
            values = strategy.run(lambda: self.schedule(optimizer.iterations))
            local = strategy.experimental_local_results(values)
            self.per_replica.append([float(v) for v in local])

    for name, params in request["params"].items():
        with strategy.scope():
            schedule = getattr(mod, camel_name(name))(**params)
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            model.compile(optimizer=keras.optimizers.SGD(learning_rate=schedule), loss="mse")
        x = np.random.default_rng(0).normal(size=(4 * STEPS, 3)).astype("float32")
        record = Record(schedule)
        model.fit(
            x,
            x.sum(axis=1, keepdims=True),
            batch_size=4,
            epochs=1,
            verbose=0,
            callbacks=[record],
            shuffle=False,
        )
        result[name] = {
            "lr": record.lr,
            "per_replica": record.per_replica,
            "iterations": int(keras.ops.convert_to_numpy(model.optimizer.iterations)),
        }
    Path(result_path).write_text(json.dumps(result))


def test_keras_mirrored_strategy_two_logical_cpus(tmp_path: Path) -> None:
    import lrgen
    from lrgen.loader import load_text
    from tests.frameworks import float32_close
    from tests.strategies import generated_module

    spec = load_text(SPEC, "dist.yaml")
    module = generated_module(spec, "keras")
    request = {"module": module.__file__, "params": PARAMS}
    (tmp_path / "request.json").write_text(json.dumps(request))
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, __file__, "keras", str(tmp_path / "request.json"), str(tmp_path / "r")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    result = json.loads((tmp_path / "r").read_text())
    assert result["replicas"] == 2
    for name, params in PARAMS.items():
        got = result[name]
        assert got["iterations"] == STEPS
        assert len(got["lr"]) == STEPS
        for values in got["per_replica"]:
            assert len(values) == 2 and values[0] == values[1], (name, values)
        ref = lrgen.evaluate(spec.schedules[name], np.arange(STEPS), params=params)
        assert float32_close(np.array(got["lr"]), ref).all(), (name, got["lr"], ref)
        replica = np.array([values[0] for values in got["per_replica"]])
        assert float32_close(replica, ref).all(), name


if __name__ == "__main__" and sys.argv[1:2] == ["keras"]:
    _keras_worker(sys.argv[2], sys.argv[3])
