"""Domain metrics for MNIST-like images: FID and KID in the feature space of the
project's own classifier, precision / recall, density / coverage, class coverage."""

from steadygan.metrics.classes import ClassMetrics, class_histogram, class_metrics, kl_to_uniform
from steadygan.metrics.classifier import (
    embed,
    features,
    load_classifier,
    predict_proba,
    train_classifier,
)
from steadygan.metrics.domain import METRICS, evaluate_images
from steadygan.metrics.fid import KID, SmallSampleWarning, fid, frechet_distance, gaussian_fit, kid
from steadygan.metrics.inputs import MetricInputError, validate_images
from steadygan.metrics.prdc import PRDC, prdc
from steadygan.metrics.reference import Embedding, mnist_reference

__all__ = [
    "METRICS", "KID", "PRDC", "ClassMetrics", "Embedding", "MetricInputError",
    "SmallSampleWarning", "class_histogram", "class_metrics", "embed", "evaluate_images",
    "features", "fid", "frechet_distance", "gaussian_fit", "kid", "kl_to_uniform",
    "load_classifier", "mnist_reference", "predict_proba", "prdc", "train_classifier",
    "validate_images",
]
