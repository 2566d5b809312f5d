from steadygan.config import TrainConfig
from steadygan.health.remedies import REMEDIES, remedies_for


def _texts(kind, cfg=None):
    return " | ".join(remedies_for(kind, cfg))


def test_remedies_already_in_effect_are_not_offered():
    on = _texts("d_overpowering", TrainConfig())  # the defaults: controller on, labels noisy
    assert "give the balance controller room" in on and "balance.mode=auto, the default" not in on
    assert "labels.flip" not in on and "labels.smooth" not in on
    assert "model.d_dropout=0.3" in on and "model.d_head=patch" in on
    assert remedies_for("d_overpowering", TrainConfig())[:3] == [
        "lower train.lr_d (halve it) or raise train.lr_g: D is learning faster than G",
        "give the balance controller room: a lower balance.lr_min or a higher balance.lr_max",
        "more dropout in D (model.d_dropout=0.3)"]
    off = _texts("d_overpowering", TrainConfig().with_overrides(
        ["balance.mode=off", "labels.flip=0", "model.d_head=patch"]))
    assert "balance.mode=auto, the default" in off and "give the balance controller room" not in off
    assert "labels.flip=0.1" in off and "model.d_head=patch" not in off


def test_less_label_noise_is_offered_only_to_a_run_that_has_some():
    assert "a lower labels.flip" in _texts("g_overpowering", TrainConfig())
    assert "labels.flip" not in _texts("g_overpowering",
                                       TrainConfig().with_overrides(["labels.flip=0"]))


def test_remedies_a_run_s_models_cannot_take_are_not_offered():
    images = _texts("mode_collapse", TrainConfig())
    assert "model.d_minibatch_std=true" in images and "model.pack" not in images
    assert "model.d_norm=spectral" in images
    # the mixtures' MLP D has minibatch stddev on by default, packs, and has no spectral norm
    points = _texts("mode_collapse", TrainConfig.for_data("ring8"))
    assert "model.pack=2" in points and "d_minibatch_std" not in points
    assert "spectral" not in points and "lower both learning rates" in points
    assert "model.d_head=patch" not in _texts("d_overpowering", TrainConfig.for_data("grid25"))


def test_without_the_run_s_settings_every_remedy_is_offered():
    for kind, remedies in REMEDIES.items():
        assert remedies_for(kind) == [r.text for r in remedies] and remedies
    assert remedies_for("no_such_kind", TrainConfig()) == []


def test_more_or_less_of_a_setting_is_offered_only_in_its_direction():
    # "more dropout, 0.3" is less dropout for a run at 0.5; two D steps are fewer than three
    heavy = TrainConfig().with_overrides(["model.d_dropout=0.5", "labels.flip=0.2",
                                          "labels.smooth=0"])
    over = _texts("d_overpowering", heavy)
    assert "model.d_dropout" not in over and "labels.flip" not in over
    assert "labels.smooth=0.1" in over
    assert "model.d_dropout=0.3" in _texts("d_overpowering",
                                           TrainConfig().with_overrides(["model.d_dropout=0.1"]))
    assert "train.n_critic" not in _texts("g_overpowering",
                                          TrainConfig().with_overrides(["train.n_critic=3"]))
    assert "train.n_critic=2" in _texts("g_overpowering", TrainConfig())
    assert "train.r1_gamma" not in _texts("mode_collapse",
                                          TrainConfig().with_overrides(["train.r1_gamma=10"]))
    assert "train.r1_gamma=1" in _texts("mode_collapse",
                                        TrainConfig().with_overrides(["train.r1_gamma=0.1"]))
    packed = TrainConfig.for_data("ring8").with_overrides(["model.pack=4"])
    assert "model.pack" not in _texts("mode_collapse", packed)
    # beta1's remedy is a lower one: offered at 0.9, not at 0 or at 0.5 itself
    assert "train.beta1=0.5" in _texts("oscillation",
                                       TrainConfig().with_overrides(["train.beta1=0.9"]))
    for beta1 in ("0", "0.5"):
        assert "train.beta1" not in _texts("oscillation",
                                           TrainConfig().with_overrides([f"train.beta1={beta1}"]))


def test_augmentation_is_offered_to_folder_runs_that_do_not_augment(tmp_path):
    folder = TrainConfig.for_data("folder").with_overrides([f"data.dir={tmp_path}"])
    assert folder.train.augment == "translation,cutout" and folder.train.augment_target == 0.8
    turned_off = folder.with_overrides(["train.augment=none", "train.augment_target=0"])
    for kind in ("d_overpowering", "mode_collapse"):
        assert "train.augment=translation,cutout with train.augment_target=0.8" in \
            _texts(kind, turned_off)
        assert "train.augment" not in _texts(kind, TrainConfig())  # 10,000 digits: not the cause
        assert "train.augment" not in _texts(kind, folder)  # the folder default: it has it
        assert "train.augment" not in _texts(kind, turned_off.with_overrides(
            ["train.augment=translation,cutout"]))  # augmenting always: more would not help
    assert "train.augment" not in _texts("mode_collapse", TrainConfig.for_data("ring8"))
