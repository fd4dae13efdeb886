"""What a run writes as it goes: ``scalars.jsonl`` (read by ``hideseek plot``) and TensorBoard."""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch

SCALARS_FILE = "scalars.jsonl"


class ScalarLog:
    """scalars.jsonl (+ TensorBoard): one record per update."""

    def __init__(self, run_dir: Path, resume_update: int | None, tensorboard: bool):
        self.path = run_dir / SCALARS_FILE
        if resume_update is not None and self.path.exists():
            # Drop records written after the checkpoint we continue from.
            keep = [ln for ln in self.path.read_text().splitlines()
                    if ln.strip() and json.loads(ln)["update"] <= resume_update]
            self.path.write_text("".join(k + "\n" for k in keep))
        self.fh = open(self.path, "a")
        self.tb = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter
            self.tb = SummaryWriter(str(run_dir / "tb"),
                                    purge_step=None if resume_update is None else resume_update + 1)

    def write(self, update: int, agent_steps: int, elapsed: float, scalars: dict[str, float]) -> None:
        rec = {"update": update, "agent_steps": agent_steps, "minutes": elapsed / 60, **scalars}
        self.fh.write(json.dumps(rec) + "\n")
        self.fh.flush()
        if self.tb is not None:
            for k, v in scalars.items():
                if math.isfinite(v):
                    self.tb.add_scalar(k, v, agent_steps)

    def close(self) -> None:
        self.fh.close()
        if self.tb is not None:
            self.tb.close()


def to_host(stats: dict[str, torch.Tensor]) -> dict[str, float]:
    """One device->host transfer for all scalars of an update (stacked on their device)."""
    keys = list(stats)
    if not keys:
        return {}
    device = next(v.device for v in stats.values() if v.device.type != "cpu") \
        if any(v.device.type != "cpu" for v in stats.values()) else torch.device("cpu")
    values = torch.stack([stats[k].detach().float().reshape(()).to(device) for k in keys])
    return dict(zip(keys, values.cpu().tolist()))
