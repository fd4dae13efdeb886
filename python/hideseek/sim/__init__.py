"""The batched hide-and-seek twin: layouts, physics, sensors and rules on torch tensors.

``TwinSim`` steps N arenas at once on CPU or CUDA; ``hideseek.envs.TwinParallelEnv`` wraps one
arena as a PettingZoo ParallelEnv.
"""

from .state import SimState
from .threads import pick_threads
from .twin import TwinSim
from .types import AgentObs, StepOutput

__all__ = ["TwinSim", "SimState", "AgentObs", "StepOutput", "pick_threads"]
