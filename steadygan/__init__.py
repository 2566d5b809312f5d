"""steadygan: DCGAN training that works the first time, and says why when it does not."""
from steadygan.config import ConfigError, TrainConfig, load_config
from steadygan import train  # the package is callable: train(cfg) runs the training loop
from steadygan.train.loop import RunResult, TrainingDiverged

__all__ = ["ConfigError", "RunResult", "TrainConfig", "TrainingDiverged", "load_config", "train"]
__version__ = "0.1.0"
