"""hideseek: multi-agent hide-and-seek for Unity ML-Agents, with a batched PyTorch twin."""

from .config_io import ConfigError
from .contract import WorldConfig, load_world_config

__version__ = "0.1.0"


def make_env(arena: str = "quadrant", **overrides):
    """A PettingZoo ParallelEnv over one twin arena: ``make_env("quadrant", horizon=40)``.

    Keyword arguments that are WorldConfig fields override the arena; ``render_mode``,
    ``device`` and ``seed`` go to the env.
    """
    from .envs.twin_env import make_env as _make_env
    return _make_env(arena, **overrides)


__all__ = ["ConfigError", "WorldConfig", "load_world_config", "make_env", "__version__"]
