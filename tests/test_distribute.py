"""Training under a distribution strategy matches one device: MirroredStrategy on two
logical CPU devices, and MultiWorkerMirroredStrategy with two worker processes talking
over 127.0.0.1 (TF_CONFIG), as on two machines."""

import json
import os
import socket
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {**os.environ, "PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "3"}
TIMEOUT_S = 300  # on an idle 2-core machine each process takes about 20 s


def script(mode, env=ENV):
    return subprocess.Popen(
        [sys.executable, "-m", "tests.distribute_script", mode],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def results(processes):
    """Each process's JSON line; on a failure or time-out every process is stopped and the
    message carries each one's stderr."""
    outputs, failed = {}, []
    for name, process in processes.items():
        try:
            stdout, stderr = process.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
            failed.append(f"{name} timed out after {TIMEOUT_S} s:\n{stderr[-2000:]}")
            continue
        if process.returncode != 0:
            failed.append(f"{name} exited with {process.returncode}:\n{stderr[-2000:]}")
        else:
            outputs[name] = json.loads(stdout.strip().splitlines()[-1])
    for process in processes.values():
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert not failed, "\n\n".join(failed)
    return outputs


def free_ports(count):
    """Ports the kernel hands out now; held together so that they differ."""
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_mirrored_strategy_first_epoch_loss_matches_one_device():
    out = results({"mirrored": script("mirrored")})["mirrored"]
    assert out["replicas"] == 2
    assert out["two"] == pytest.approx(out["one"], rel=1e-5)


def test_two_worker_processes_match_one_process():
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    processes = {"one process": script("one-device")}
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        processes[f"worker {index}"] = script(
            "multi-worker", env={**ENV, "TF_CONFIG": json.dumps(tf_config)}
        )
    out = results(processes)
    assert out["worker 0"]["replicas"] == out["worker 1"]["replicas"] == 2
    assert out["worker 0"]["loss"] == out["worker 1"]["loss"]  # one all-reduced number
    assert out["worker 0"]["loss"] == pytest.approx(out["one process"]["loss"], rel=1e-5)
