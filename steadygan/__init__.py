"""steadygan: DCGAN training that works the first time, and says why when it does not."""
from steadygan.config import ConfigError, TrainConfig, load_config
from steadygan.train.loop import RunResult, TrainingDiverged, train

__all__ = ["ConfigError", "RunResult", "TrainConfig", "TrainingDiverged", "load_config", "train"]
__version__ = "0.1.0"
