"""PettingZoo environments: the in-process twin and Unity ML-Agents (through mlagents-envs).

Everything is imported on first use, so ``hideseek.envs.mlagents_compat`` can be installed
before anything pulls in protobuf, and the Unity path does not pay for torch until it needs it.
"""

import importlib

_EXPORTS = {
    "TwinParallelEnv": ".twin_env",
    "make_env": ".twin_env",
    "UnityParallelEnv": ".unity_env",
    "UnityVecSim": ".unity_vec",
    "UnityWorkerError": ".unity_vec",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module 'hideseek.envs' has no attribute {name!r}")


__all__ = list(_EXPORTS)
