import pytest

from steadygan.config import ConfigError, TrainConfig, dump_toml, load_config


def test_defaults_validate_and_follow_the_dcgan_recipe():
    cfg = TrainConfig().validate()
    assert cfg.train.lr_g <= 2e-4 and cfg.train.lr_d <= 2e-4
    assert cfg.train.beta1 == 0.5
    assert cfg.model.d_dropout > 0
    assert cfg.train.d_batches == "separate"
    assert 0 < cfg.labels.flip <= 0.1 and 0 < cfg.labels.smooth <= 0.1


def test_toml_round_trip(tmp_path):
    cfg = TrainConfig().with_overrides(["train.lr_d=1e-4", "model.d_head=patch", "run.out=a b\"c"])
    path = tmp_path / "c.toml"
    path.write_text(dump_toml(cfg))
    assert load_config(path) == cfg


def test_overrides_are_typed():
    cfg = TrainConfig().with_overrides(["train.lr_d=1e-4", "labels.one_sided=false",
                                        "train.steps=7", "train.epochs=3", "data.dir=/x"])
    assert cfg.train.lr_d == 1e-4 and cfg.labels.one_sided is False
    assert cfg.train.steps == 7 and isinstance(cfg.train.epochs, float) and cfg.data.dir == "/x"


@pytest.mark.parametrize("assignment, fragment", [
    ("train.lr_d=-1e-4", "train.lr_d"),
    ("labels.flip=0.6", "labels.flip"),
    ("data.image_size=48", "data.image_size"),
    ("train.lrd=1e-4", "unknown setting 'train.lrd'; did you mean 'train.lr_d'?"),
    ("nosection.x=1", "unknown section 'nosection' (known: data,"),  # nothing close
    ("trian.lr_d=1e-4", "unknown section 'trian'; did you mean 'train'?"),
    ("train.xyz=1", "unknown setting 'train.xyz' (known: batch_size,"),
    ("train.batch_size=abc", "train.batch_size must be an integer"),
    ("train.ema=3", "train.ema must be true or false"),
    ("train.loss=wgan", "train.loss"),
    ("model.d_norm=layer", "model.d_norm"),
    ("model.d_head=patchgan", "got 'patchgan'; did you mean 'patch'?"),
    ("data.name=ring", "got 'ring'; did you mean 'ring8'?"),
    ("data.channels=2", "data.channels"),
    ("data.channels=0", "data.channels: must be 1 or 3 (0, as the images are, for folders)"),
    ("train.beta1=1.0", "train.beta1"),
    ("train.lr_g=nan", "train.lr_g"),
    ("run.log_every=0", "run.log_every"),
    ("train.lr_warmup_steps=-1", "train.lr_warmup_steps"),
    ("data.name=folder", "data.dir"),
    ("lr_d=1", "expected section.key=value (did you mean train.lr_d=1?)"),
    ("nothing=1", "expected section.key=value"),
])
def test_invalid_values_are_refused_with_the_setting_named(assignment, fragment):
    with pytest.raises(ConfigError, match=None) as info:
        TrainConfig().with_overrides([assignment]).validate()
    message = str(info.value)
    assert fragment in message and "\n" not in message


def test_patch_size_must_fit_the_image_size():
    TrainConfig().with_overrides(["model.d_head=patch", "model.patch_size=14"]).validate()
    with pytest.raises(ConfigError, match="model.patch_size"):
        TrainConfig().with_overrides(["model.d_head=patch", "model.patch_size=5"]).validate()


def test_bad_config_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[train\nlr_d = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
    wrong = tmp_path / "wrong.toml"
    wrong.write_text("[train]\nlr_dd = 1e-4\n")
    with pytest.raises(ConfigError, match="unknown setting 'train.lr_dd'"):
        load_config(wrong)


def test_total_steps_from_epochs():
    cfg = TrainConfig().with_overrides(["train.batch_size=100", "train.epochs=2"])
    assert cfg.total_steps(1000) == 20
    assert cfg.with_overrides(["train.n_critic=2"]).total_steps(1000) == 10
    assert cfg.with_overrides(["train.steps=5"]).total_steps(1000) == 5


@pytest.mark.parametrize("settings, instrument", [
    ([], "digits"), (["data.name=mnist"], "digits"), (["data.name=folder", "data.dir=x"], "digits"),
    (["data.image_size=32"], "digits"), (["data.channels=3"], None),
    (["data.name=folder", "data.dir=x", "data.image_size=64"], "digits"),
    (["data.name=folder", "data.dir=x", "data.image_size=64", "data.channels=3"], None),
    (["data.name=stacked-mnist", "data.channels=3"], "stacked"),
    (["data.name=stacked-mnist", "data.channels=3", "data.image_size=32"], "stacked"),
    (["data.name=ring8"], "mixture"), (["data.name=grid25", "data.image_size=64"], "mixture")])
def test_the_instrument_that_measures_a_run_follows_its_data_and_shape(settings, instrument):
    assert TrainConfig().with_overrides(settings).data.instrument() == instrument
