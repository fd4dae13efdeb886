"""The twin as a Unity Linux player: a gRPC *client* of the trainer's ``UnityEnvironment``
(../shared/PROTOCOL.md §1-§3, §8). ``python -m hideseek.unity_twin --mlagents-port P ...``.

Exit codes: 0 after a normal close (status != 200, QUIT, or the trainer gone), 1 on an internal
error, 2 on a configuration error, 3 for an injected crash. Everything is logged to ``-logFile``.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import traceback

import grpc
import torch

from ..backends import check_backend, make_simulator
from ..config_io import ConfigError
from ..contract import load_world_config
from ..envs import mlagents_compat
from ..physx import PhysxUnavailable
from .academy import QuitRequested, TwinAcademy
from .options import PlayerOptions, parse_args

mlagents_compat.install()

from mlagents_envs.communicator_objects.capabilities_pb2 import UnityRLCapabilitiesProto  # noqa: E402
from mlagents_envs.communicator_objects.command_pb2 import STEP  # noqa: E402
from mlagents_envs.communicator_objects.unity_message_pb2 import UnityMessageProto  # noqa: E402
from mlagents_envs.communicator_objects.unity_to_external_pb2_grpc import (  # noqa: E402
    UnityToExternalProtoStub)

log = logging.getLogger("hideseek.unity_twin")

COMMUNICATION_VERSION = "1.5.0"   # Academy.k_ApiVersion of com.unity.ml-agents 2.x/3.x
PACKAGE_VERSION = "3.0.0"         # the Unity package the twin imitates
HANDSHAKE_TIMEOUT_S = 60.0
ORPHAN_POLL_S = 0.5
EXIT_OK, EXIT_ERROR, EXIT_CONFIG, EXIT_CRASH = 0, 1, 2, 3


class TrainerGone(Exception):
    """The trainer closed the connection or died."""


def _setup_logging(options: PlayerOptions) -> None:
    handler: logging.Handler
    if options.log_file is not None:
        options.log_file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(options.log_file, mode="w")
        level = logging.INFO
    else:
        # Without -logFile, stderr may be the trainer's terminal: problems only.
        handler = logging.StreamHandler(sys.stderr)
        level = logging.WARNING
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)


def _watch_parent() -> None:
    """Exit when the process that started us dies (it was started in a new session, so no
    SIGHUP reaches us). gRPC usually notices first; this covers a trainer frozen mid-kill."""
    parent = os.getppid()

    def run() -> None:
        while True:
            time.sleep(ORPHAN_POLL_S)
            if os.getppid() != parent:
                log.warning("parent process %d is gone; exiting", parent)
                logging.shutdown()
                os._exit(EXIT_OK)

    threading.Thread(target=run, name="orphan-watch", daemon=True).start()


class TwinPlayer:
    def __init__(self, options: PlayerOptions):
        self.options = options
        self.channel = grpc.insecure_channel(f"localhost:{options.port}")
        self.stub = UnityToExternalProtoStub(self.channel)

    def _exchange(self, message: UnityMessageProto, handshake: bool = False) -> UnityMessageProto:
        try:
            if handshake:
                reply = self.stub.Exchange(message, wait_for_ready=True,
                                           timeout=HANDSHAKE_TIMEOUT_S)
            else:
                # No wait_for_ready and no deadline: the trainer may take minutes between steps,
                # and a dead trainer fails the call at once (UNAVAILABLE / CANCELLED).
                reply = self.stub.Exchange(message)
        except grpc.RpcError as exc:
            raise TrainerGone(f"{exc.code().name}: {exc.details()}") from None
        if reply.header.status != 200:
            raise TrainerGone(f"status {reply.header.status}")
        return reply

    def _handshake(self) -> TwinAcademy:
        init = UnityMessageProto()
        init.header.status = 200
        out = init.unity_output.rl_initialization_output
        out.name = "AcademySingleton"
        out.communication_version = COMMUNICATION_VERSION
        out.package_version = PACKAGE_VERSION
        caps = UnityRLCapabilitiesProto(
            baseRLCapabilities=True, concatenatedPngObservations=True,
            compressedChannelMapping=True, hybridActions=True, trainingAnalytics=True,
            variableLengthObservation=True, multiAgentGroups=True)
        out.capabilities.CopyFrom(caps)
        reply = self._exchange(init, handshake=True)
        params = reply.unity_input.rl_initialization_input
        major = params.communication_version.split(".")[0]
        if major != COMMUNICATION_VERSION.split(".")[0]:
            raise ConfigError("handshake", "communication_version", params.communication_version,
                              f"a {COMMUNICATION_VERSION.split('.')[0]}.x trainer")
        log.info("connected: trainer package %s, communication %s, seed %d, num_areas %d",
                 params.package_version, params.communication_version, params.seed,
                 params.num_areas)
        world = load_world_config(self.options.arena)
        backend = self.options.backend
        log.info("simulator: %s", backend)

        def make_sim(world, num_arenas: int, device: str, seed: int):
            return make_simulator(backend, world, num_arenas, device=device, seed=seed)
        return TwinAcademy(world, default_arenas=self.options.arenas, device=self.options.device,
                           seed=params.seed, num_areas=max(params.num_areas, 1),
                           sim_factory=make_sim)

    def _inject(self, academy: TwinAcademy) -> None:
        """Fire the configured fault if this STEP is its step (fault injection for tests)."""
        fault = self.options.fault
        if fault is None or academy.step_count + 1 != fault.step:
            return
        if fault.once_path is not None:
            if fault.once_path.exists():
                return
            fault.once_path.parent.mkdir(parents=True, exist_ok=True)
            fault.once_path.touch()
        log.warning("injected fault: %s at step %d", fault.kind, fault.step)
        if fault.kind == "crash":
            logging.shutdown()
            os._exit(EXIT_CRASH)
        if fault.kind == "hang":
            while True:  # until the trainer kills us or goes away (orphan watch)
                time.sleep(1.0)
        setattr(academy.faults, fault.kind, True)

    def run(self) -> int:
        academy = self._handshake()
        empty = UnityMessageProto()
        empty.header.status = 200
        reply = self._exchange(empty)
        while True:
            rl_input = reply.unity_input.rl_input
            if rl_input.command == STEP and academy.sim is not None:
                self._inject(academy)
                if self.options.step_sleep_ms > 0:
                    time.sleep(self.options.step_sleep_ms / 1000.0)
            output = academy.handle(rl_input)
            message = UnityMessageProto()
            message.header.status = 200
            message.unity_output.CopyFrom(output)
            reply = self._exchange(message)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        options = parse_args(argv)
        check_backend(options.backend)
    except (ValueError, PhysxUnavailable) as exc:
        print(f"HideAndSeekTwin: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    _setup_logging(options)
    log.info("HideAndSeekTwin starting (pid %d): %s", os.getpid(), " ".join(argv))
    if options.port is None:
        # A Unity player without --mlagents-port runs its own heuristics; the twin has nothing
        # to do without a trainer.
        log.error("no --mlagents-port given: the twin only runs under a trainer")
        return EXIT_CONFIG
    _watch_parent()
    torch.set_num_threads(options.threads)
    try:
        TwinPlayer(options).run()
    except (TrainerGone, QuitRequested) as exc:
        log.info("trainer closed the connection (%s); exiting", exc or "QUIT")
        return EXIT_OK
    except ConfigError as exc:
        log.error("configuration error: %s", exc)
        return EXIT_CONFIG
    except Exception:
        log.error("internal error:\n%s", traceback.format_exc())
        return EXIT_ERROR
    finally:
        logging.shutdown()
    return EXIT_OK
