"""The Python API of the README: `from steadygan import TrainConfig, train`."""
import importlib

import steadygan
from steadygan import TrainConfig, train


def test_train_runs_and_resumes_and_leaves_the_subpackage_importable(tiny_cfg):
    result = train(tiny_cfg)
    assert result.steps == 24 and not result.interrupted
    assert (result.run_dir / "checkpoints" / "last.pt").is_file()
    longer = train(tiny_cfg.with_overrides(["train.steps=30"]), resume=True)
    assert longer.steps == 30 and longer.run_dir == result.run_dir
    # the public function does not hide the package of the same name
    loop = importlib.import_module("steadygan.train.loop")
    assert steadygan.train.loop is loop and isinstance(tiny_cfg, TrainConfig)
