"""Evaluation at the twin's speed: N episodes as N arenas of one batched simulator.

- ``actors``: the :class:`~hideseek.evaluation.actors.TeamActor` interface and its players
  (ONNX policies, a run's PyTorch actors, uniformly random play);
- ``runner``: :func:`~hideseek.evaluation.runner.run_episodes` (episode e = arena e, seed s + e)
  over any simulator with ``TwinSim``'s API, or a factory of them;
- ``statistics``: outcomes, win rates, summaries and the printed table (numpy only).

The submodules are imported by name (``from hideseek.evaluation.runner import run_episodes``):
``statistics`` stays importable without torch.
"""
