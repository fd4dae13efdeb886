"""``hideseek train``: MAPPO + ICM self-play of both teams on the batched twin (or Unity).

``config`` (validated dataclasses) -> ``trainer`` (simulator, collector, learner, opponent pool)
-> ``state`` (checkpoints) -> ``cli`` (the loop, budgets, the command), with ``evaluation`` (the
periodic evaluation at checkpoints) and ``threads`` (the thread pick that times an update). A run
directory holds the resolved config, ``scalars.jsonl``, TensorBoard events and atomic checkpoints
that continue exactly.
"""

from .cli import main, prepare, run
from .config import EvalConfig, TrainConfig, SelfPlayConfig, load_train_config
from .log import ScalarLog, to_host
from .state import load, save, state_tensors
from .trainer import OpponentPool, Trainer

__all__ = ["main", "prepare", "run", "TrainConfig", "SelfPlayConfig", "EvalConfig", "load_train_config",
           "ScalarLog", "to_host", "load", "save", "state_tensors", "OpponentPool", "Trainer"]
