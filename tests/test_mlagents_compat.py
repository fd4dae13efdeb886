"""The protobuf compatibility hook for mlagents-envs 1.1.0 (hideseek.envs.mlagents_compat).

Import order matters (protobuf, onnx, mlagents_envs), so each scenario runs in a fresh
interpreter."""

from __future__ import annotations

import ipaddress
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hideseek.envs import mlagents_compat

PB2_DIR = Path(mlagents_compat.importlib.util.find_spec(
    "mlagents_envs.communicator_objects").submodule_search_locations[0])


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120)


ROUND_TRIP = """
    import importlib, pkgutil
    import mlagents_envs.communicator_objects as co
    from mlagents_envs.environment import UnityEnvironment
    from mlagents_envs.communicator_objects import command_pb2, observation_pb2
    from mlagents_envs.communicator_objects.unity_message_pb2 import UnityMessageProto
    names = [m.name for m in pkgutil.iter_modules(co.__path__)]
    for name in names:
        importlib.import_module("mlagents_envs.communicator_objects." + name)
    assert (command_pb2.STEP, command_pb2.RESET, command_pb2.QUIT) == (0, 1, 2)
    assert observation_pb2.PNG == 1
    msg = UnityMessageProto()
    msg.header.status = 200
    info = msg.unity_output.rl_output.agentInfos["Hider?team=0"].value.add()
    info.id, info.group_reward = 7, -1.0
    info.action_mask.extend([True, False])
    obs = info.observations.add()
    obs.shape.extend([2, 3])
    obs.float_data.data.extend(range(6))
    back = UnityMessageProto.FromString(msg.SerializeToString())
    got = back.unity_output.rl_output.agentInfos["Hider?team=0"].value[0]
    assert got.id == 7 and list(got.action_mask) == [True, False], got
    assert list(got.observations[0].float_data.data) == [0, 1, 2, 3, 4, 5]
    print("modules", len(names))
"""


def test_stock_import_fails_without_the_hook():
    # Guards the premise: if a future mlagents-envs fixed its pb2 files, the hook is moot.
    res = run_python("import mlagents_envs.environment")
    assert res.returncode != 0
    assert "Descriptors cannot be created directly" in res.stderr


ONNX_STILL_WORKS = """
    from onnx import helper, TensorProto
    node = helper.make_node("Relu", ["x"], ["y"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    model = helper.make_model(graph)
    onnx.checker.check_model(model)
    assert onnx.load_from_string(model.SerializeToString()).graph.node[0].op_type == "Relu"
    print("onnx ok")
"""


@pytest.mark.parametrize("onnx_first", [False, True])
def test_hook_rebuilds_every_pb2_module(onnx_first):
    code = ("    import onnx\n" if onnx_first else "") + """
    from hideseek.envs import mlagents_compat
    assert mlagents_compat.install() is True
    assert mlagents_compat.install() is True  # idempotent
    assert sum(isinstance(f, mlagents_compat.MlagentsPb2Finder) for f in __import__("sys").meta_path) == 1
    """ + ROUND_TRIP + ("    import onnx\n" + ONNX_STILL_WORKS if onnx_first else "")
    res = run_python(code)
    assert res.returncode == 0, res.stderr
    assert "modules 22" in res.stdout
    assert ("onnx ok" in res.stdout) == onnx_first


def test_install_after_a_pb2_was_imported_is_refused():
    res = run_python("""
    import sys, types
    sys.modules["mlagents_envs.communicator_objects.command_pb2"] = types.ModuleType("stale")
    from hideseek.envs import mlagents_compat
    try:
        mlagents_compat.install()
    except mlagents_compat.MlagentsCompatError as exc:
        print("refused:", exc)
    """)
    assert res.returncode == 0, res.stderr
    assert "refused:" in res.stdout and "command_pb2" in res.stdout


@pytest.mark.parametrize("name", ["command_pb2.py", "agent_info_pb2.py", "unity_to_external_pb2.py"])
def test_embedded_descriptor_matches_the_file(name):
    """Both generated styles (old ``serialized_pb=_b(...)`` and new ``AddSerializedFile``)."""
    from google.protobuf import descriptor_pb2

    data = mlagents_compat.embedded_descriptor(PB2_DIR / name)
    proto = descriptor_pb2.FileDescriptorProto.FromString(data)
    assert proto.name == f"mlagents_envs/communicator_objects/{name[:-len('_pb2.py')]}.proto"
    assert proto.package == "communicator_objects"


def test_embedded_descriptor_names_the_file_when_missing(tmp_path):
    bad = tmp_path / "broken_pb2.py"
    bad.write_text("x = 1\n")
    with pytest.raises(mlagents_compat.MlagentsCompatError, match="broken_pb2.py"):
        mlagents_compat.embedded_descriptor(bad)


def test_runtime_dependencies_are_installed():
    assert mlagents_compat.missing_runtime_dependencies(optional=True) == {}


# --------------------------------------------------------------------------- listening address

BASE_PORT = 52360  # this file's port range: 52360-52369


def listening_addresses(port: int) -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Local addresses with a socket LISTENing on TCP ``port``, from /proc/net/tcp and tcp6
    (what ``ss -ltn`` reads)."""
    found = set()
    for table, size in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            addr_hex, port_hex = local.split(":")
            if state != "0A" or int(port_hex, 16) != port:  # 0A = TCP_LISTEN
                continue
            raw = bytes.fromhex(addr_hex)
            # The kernel prints each 32-bit word in host (little-endian) order.
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, size, 4))
            addr = ipaddress.ip_address(raw)
            if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
                addr = addr.ipv4_mapped
            found.add(addr)
    return found


def non_loopback_ips() -> list[str]:
    """This machine's addresses other than loopback (for connection attempts)."""
    out = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
    return [a for a in out if not ipaddress.ip_address(a).is_loopback]


def can_connect(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@pytest.mark.parametrize("address,expect_loopback", [(None, True), ("127.0.0.1", True),
                                                     ("0.0.0.0", False)])
def test_server_listens_where_asked(address, expect_loopback, monkeypatch):
    """RpcCommunicator itself binds "[::]" (every interface); ours binds loopback unless told."""
    monkeypatch.delenv(mlagents_compat.BIND_ADDRESS_ENV, raising=False)
    communicator_cls, _ = mlagents_compat._classes()
    port = BASE_PORT + 1
    comm = communicator_cls(worker_id=1, base_port=BASE_PORT, timeout_wait=1,
                            address=mlagents_compat.resolve_bind_address(address))
    try:
        addrs = listening_addresses(port)
        assert addrs, f"nothing listens on {port}"
        assert all(a.is_loopback for a in addrs) == expect_loopback, addrs
        assert can_connect("127.0.0.1", port)
        for ip in non_loopback_ips():
            assert can_connect(ip, port) == (not expect_loopback), ip
    finally:
        comm.server.stop(0)


def test_environment_variable_and_twin_player_through_loopback(tmp_path, monkeypatch):
    """A whole UnityParallelEnv over the twin player: the trainer's port is bound on loopback
    only and the player (which connects to localhost, as a Unity player does) still gets in;
    HIDESEEK_BIND_ADDRESS (set by ``hideseek train --bind-address``) changes it."""
    from hideseek.contract import REPO_ROOT
    from hideseek.envs.unity_env import UnityParallelEnv

    launcher = str(REPO_ROOT / "builds" / "twin" / "HideAndSeekTwin.x86_64")
    monkeypatch.delenv(mlagents_compat.BIND_ADDRESS_ENV, raising=False)
    env = UnityParallelEnv(launcher, worker_id=2, base_port=BASE_PORT, log_folder=str(tmp_path),
                           world_overrides={"horizon": 4})
    try:
        env.reset()
        addrs = listening_addresses(BASE_PORT + 2)
        assert addrs and all(a.is_loopback for a in addrs), addrs
    finally:
        env.close()
    monkeypatch.setenv(mlagents_compat.BIND_ADDRESS_ENV, "0.0.0.0")
    env = UnityParallelEnv(launcher, worker_id=3, base_port=BASE_PORT, log_folder=str(tmp_path),
                           world_overrides={"horizon": 4})
    try:
        env.reset()
        addrs = listening_addresses(BASE_PORT + 3)  # gRPC makes 0.0.0.0 a dual-stack [::]
        assert addrs and all(a.is_unspecified for a in addrs), addrs
    finally:
        env.close()


def test_taken_port_is_a_clear_error_with_a_clean_exit():
    """A port in use: UnityConnection says which port before anything is constructed, and a
    UnityEnvironment that fails in its constructor leaves no traceback at interpreter exit."""
    code = f"""
        import socket
        from hideseek.contract import load_world_config
        from hideseek.envs import mlagents_compat
        from hideseek.envs.unity_reader import UnityConnection, UnityPortInUse
        from mlagents_envs.exception import UnityWorkerInUseException
        squatter = socket.socket()
        squatter.bind(("127.0.0.1", {BASE_PORT + 4}))
        squatter.listen(1)
        try:
            UnityConnection("/bin/true", load_world_config("quadrant"), 1, worker_id=4,
                            base_port={BASE_PORT})
        except UnityPortInUse as exc:
            print("refused:", exc)
        try:
            mlagents_compat.unity_environment(file_name="/bin/true", worker_id=4,
                                              base_port={BASE_PORT})
        except UnityWorkerInUseException:
            print("in use")
    """
    res = run_python(code)
    assert res.returncode == 0, res.stderr
    assert f"port {BASE_PORT + 4} is in use" in res.stdout and "in use" in res.stdout
    assert "Traceback" not in res.stderr and "Exception ignored" not in res.stderr, res.stderr
