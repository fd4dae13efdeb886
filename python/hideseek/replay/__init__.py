"""3-D replays that open in any browser: ``hideseek play --replay replay.html``.

- ``recorder``: :class:`~hideseek.replay.recorder.ReplayRecorder`, a step observer of the batched
  evaluation (:mod:`hideseek.evaluation.runner`) that keeps the twin's state of the first
  episodes, who sees whom and the rewards;
- ``page``: :func:`~hideseek.replay.page.write_replay`, one self-contained HTML file (the data,
  ``assets/viewer.js`` and the pinned three.js build in ``assets/three/``).
"""

from .page import write_replay
from .recorder import EpisodeRecording, ReplayRecorder

__all__ = ["ReplayRecorder", "EpisodeRecording", "write_replay"]
