"""The hint to start CUDA MPS when several sweep workers would take turns on one GPU."""
from steadygan.sweep.gpu_sharing import cuda_mps_running, sharing_hint


def test_mps_counts_as_running_only_when_its_control_pipe_exists(tmp_path):
    env = {"CUDA_MPS_PIPE_DIRECTORY": str(tmp_path)}
    assert not cuda_mps_running(env)
    (tmp_path / "control").touch()
    assert cuda_mps_running(env)


def test_the_hint_appears_for_several_cuda_workers_without_mps(tmp_path):
    env = {"CUDA_MPS_PIPE_DIRECTORY": str(tmp_path)}
    hint = sharing_hint("cuda", 12, env)
    assert hint is not None and "nvidia-cuda-mps-control -d" in hint and "\n" not in hint
    assert sharing_hint("cuda", 1, env) is None  # one worker has the GPU to itself
    assert sharing_hint("cpu", 12, env) is None
    (tmp_path / "control").touch()
    assert sharing_hint("cuda", 12, env) is None
