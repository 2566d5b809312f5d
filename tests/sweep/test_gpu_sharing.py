"""CUDA MPS for sweep workers sharing one GPU, with a stand-in for nvidia-cuda-mps-control that
creates and removes the daemon's control pipe and logs what it was asked."""
import os
import stat
import sys

import pytest

from steadygan.config import ConfigError
from steadygan.sweep import gpu_sharing
from steadygan.sweep.gpu_sharing import cuda_mps_running, sharing_gpu

FAKE_CONTROL = """#!/bin/sh
# -d: start (the control pipe appears); "quit" on stdin: stop
if [ "$1" = "-d" ]; then
  echo "start $CUDA_MPS_PIPE_DIRECTORY" >> "$MPS_TEST_LOG"
  touch "$CUDA_MPS_PIPE_DIRECTORY/control"
else
  read command
  echo "$command $CUDA_MPS_PIPE_DIRECTORY" >> "$MPS_TEST_LOG"
  rm -f "$CUDA_MPS_PIPE_DIRECTORY/control"
fi
"""
PROBE_OK = (sys.executable, "-c", "pass")
PROBE_FAILS = (sys.executable, "-c", "import sys; sys.exit('no CUDA device through MPS')")


@pytest.fixture
def fake_mps(tmp_path, monkeypatch):
    """The fake control program first on PATH, no daemon running; returns its log."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    control = bin_dir / gpu_sharing.MPS_CONTROL
    control.write_text(FAKE_CONTROL)
    control.chmod(control.stat().st_mode | stat.S_IEXEC)
    log = tmp_path / "mps.log"
    log.touch()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("MPS_TEST_LOG", str(log))
    monkeypatch.setenv("CUDA_MPS_PIPE_DIRECTORY", str(tmp_path / "no-daemon-here"))
    monkeypatch.delenv("CUDA_MPS_LOG_DIRECTORY", raising=False)
    return log


def test_a_running_daemon_is_recognised_by_its_control_pipe(tmp_path):
    env = {"CUDA_MPS_PIPE_DIRECTORY": str(tmp_path)}
    assert not cuda_mps_running(env)
    (tmp_path / "control").touch()
    assert cuda_mps_running(env)


def test_several_cuda_workers_get_a_private_daemon_for_the_sweep_only(fake_mps):
    outside = os.environ["CUDA_MPS_PIPE_DIRECTORY"]
    with sharing_gpu("cuda", 4, probe=PROBE_OK):
        pipes = os.environ["CUDA_MPS_PIPE_DIRECTORY"]  # what the spawned workers inherit
        assert pipes != outside and cuda_mps_running()
        assert os.environ["CUDA_MPS_LOG_DIRECTORY"].startswith(pipes)
    assert os.environ["CUDA_MPS_PIPE_DIRECTORY"] == outside
    assert "CUDA_MPS_LOG_DIRECTORY" not in os.environ
    assert fake_mps.read_text().splitlines() == [f"start {pipes}", f"quit {pipes}"]
    assert not os.path.exists(pipes)  # the private folder is gone


def test_no_daemon_for_one_worker_the_cpu_mode_off_or_one_already_running(fake_mps, tmp_path,
                                                                          monkeypatch):
    for device, workers, mode in (("cuda", 1, "auto"), ("cpu", 4, "auto"), ("cuda", 4, "off")):
        with sharing_gpu(device, workers, mode, probe=PROBE_OK):
            assert not cuda_mps_running()
    running = tmp_path / "system-daemon"
    running.mkdir()
    (running / "control").touch()
    monkeypatch.setenv("CUDA_MPS_PIPE_DIRECTORY", str(running))
    with sharing_gpu("cuda", 4, probe=PROBE_OK):
        assert os.environ["CUDA_MPS_PIPE_DIRECTORY"] == str(running)  # its clients, as they were
    assert fake_mps.read_text() == ""


def test_a_daemon_no_cuda_process_can_use_is_stopped_and_the_sweep_goes_on(fake_mps, capsys):
    with sharing_gpu("cuda", 4, probe=PROBE_FAILS):
        assert not cuda_mps_running()
    err = capsys.readouterr().err
    assert "4 workers take turns on one GPU" in err and "no CUDA device through MPS" in err
    started, stopped = fake_mps.read_text().splitlines()
    assert started.startswith("start ") and stopped == started.replace("start", "quit")
    with pytest.raises(ConfigError, match="--mps on: CUDA MPS could not start .*no CUDA device"):
        with sharing_gpu("cuda", 4, "on", probe=PROBE_FAILS):
            pass


def test_without_the_control_program_auto_says_so_and_on_refuses(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing there
    monkeypatch.setenv("CUDA_MPS_PIPE_DIRECTORY", str(tmp_path))
    with sharing_gpu("cuda", 3, probe=PROBE_OK):
        pass
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "nvidia-cuda-mps-control not found" in err
    with pytest.raises(ConfigError, match="--mps on: .*not found"):
        with sharing_gpu("cuda", 3, "on", probe=PROBE_OK):
            pass
    with pytest.raises(ConfigError, match="--mps: expected one of auto, on, off"):
        with sharing_gpu("cuda", 3, "sometimes"):
            pass
