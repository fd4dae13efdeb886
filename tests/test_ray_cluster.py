"""Rollout workers on a real multi-node Ray (``ray.cluster_utils.Cluster``: a head and two nodes
on this machine): workers spread over distinct nodes, and a node removed mid-round neither
hangs the round nor gets anything it half-produced trained on; its worker comes back on a live
node and counts one restart."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import ray
from ray.cluster_utils import Cluster

from hideseek.ray_sampler import RayConfig
from hideseek.train import Trainer, to_host
from test_ray_helpers import tiny_trainer

@pytest.fixture(scope="module")
def cluster():
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    nodes = [c.add_node(num_cpus=1), c.add_node(num_cpus=1)]
    c.wait_for_nodes()
    ray.init(address=c.address, log_to_driver=False, configure_logging=False)
    yield c, nodes
    ray.shutdown()
    c.shutdown()


def _trainer(tmp_path, ray_cfg: RayConfig) -> Trainer:
    return tiny_trainer(tmp_path / "run", ray_cfg)


def test_workers_spread_over_distinct_nodes(cluster, tmp_path):
    tr = _trainer(tmp_path, RayConfig(workers=2))
    try:
        where = tr.sampler.where()
        assert len({w["node"] for w in where}) == 2
        to_host(tr.train_update())
        assert {s["node"] for s in tr.sampler.last_stamps} == {w["node"] for w in where}
    finally:
        tr.close()


def test_a_node_removed_mid_round_does_not_hang_training(cluster, tmp_path):
    c, nodes = cluster
    # 300 ms per step: a round lasts ~2.4 s, long enough to pull a node out from under it.
    tr = _trainer(tmp_path, RayConfig(workers=2, max_policy_lag=0, step_sleep_ms=300.0,
                                      sample_timeout=8.0, hang_timeout=40.0, min_fraction=0.5))
    try:
        where = tr.sampler.where()
        by_id = {n.node_id: n for n in nodes}
        victim = next(w for w in where if w["node"] in by_id)  # a worker off the head node
        removed = by_id[victim["node"]]
        killer = threading.Timer(1.0, c.remove_node, args=(removed,))
        killer.start()
        started = time.monotonic()
        s = to_host(tr.train_update())  # the round the node dies in
        killer.join()
        # The round ended (well within hang_timeout) on whole fragments only: the survivor's,
        # and the lost worker's only if its restarted incarnation, on a live node, made one.
        assert time.monotonic() - started < 40.0
        assert tr.sampler.restarts[victim["worker"]] == 1
        by_worker = {x["worker"]: x for x in tr.sampler.last_stamps}
        assert 1 - victim["worker"] in by_worker and np.isfinite(s["shared/policy_loss"])
        lost = by_worker.get(victim["worker"])
        assert lost is None or (lost["incarnation"] == 1 and lost["node"] != removed.node_id)
        assert s["ray/arena_fraction"] == len(by_worker) / 2
        for _ in range(2):  # training goes on with both workers
            to_host(tr.train_update())
            assert sorted(x["worker"] for x in tr.sampler.last_stamps) == [0, 1]
        assert tr.sampler.restarts[victim["worker"]] == 1
        assert removed.node_id not in {x["node"] for x in tr.sampler.last_stamps}
    finally:
        tr.close()
