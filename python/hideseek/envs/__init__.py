"""PettingZoo environments: the in-process twin and Unity ML-Agents (through mlagents-envs)."""

from .twin_env import TwinParallelEnv, make_env


def __getattr__(name: str):
    # The Unity env pulls in mlagents-envs and its protobuf compatibility hook: load on demand.
    if name == "UnityParallelEnv":
        from .unity_env import UnityParallelEnv
        return UnityParallelEnv
    raise AttributeError(f"module 'hideseek.envs' has no attribute {name!r}")


__all__ = ["TwinParallelEnv", "UnityParallelEnv", "make_env"]
