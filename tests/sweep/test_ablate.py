import csv

from steadygan.cli import main
from steadygan.config import TrainConfig
from steadygan.sweep.ablate import ABLATIONS, ablation_table, ablation_trials

TINY = ["--set", "data.name=ring8", "--set", "train.steps=40", "--set", "run.eval_every=0",
        "--set", "model.mlp_hidden=32", "--samples", "500", "--no-progress"]


def test_every_ablation_changes_one_thing_and_is_valid_for_the_default_digits():
    trials = ablation_trials(TrainConfig(), None, 2)
    # all but PacGAN packing (an MLP-D technique) and no_minibatch_stddev (off for digits already)
    assert {t.label for t in trials} == set(ABLATIONS) - {"pacgan_pack2", "no_minibatch_stddev"}
    assert len(trials) == 2 * (len(ABLATIONS) - 2)
    assert {t.name for t in trials if t.label == "baseline"} == {"baseline_s0", "baseline_s1"}
    assert all(len(ABLATIONS[t.label]) <= 2 for t in trials)


def test_a_small_ablation_end_to_end(tmp_path, capsys):
    out = tmp_path / "ab"
    assert main(["ablate", "--only", "baseline", "no_ema", "--seeds", "2", "--out", str(out),
                 "--workers", "2", *TINY]) == 0
    with (out / "results.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert sorted((r["variant"], r["seed"]) for r in rows) == [
        ("baseline", "0"), ("baseline", "1"), ("no_ema", "0"), ("no_ema", "1")]
    table = (out / "ablation.md").read_text().splitlines()
    assert table[0].startswith("| variant | median modes_covered")
    assert [line.split("|")[1].strip() for line in table[2:]] == ["baseline", "no_ema"]
    assert "ablation.md" in capsys.readouterr().out


def test_bad_ablation_requests_get_one_line(capsys, tmp_path):
    assert main(["ablate", "--only", "no_such_trick", "--out", str(tmp_path / "a"),
                 "--no-progress"]) == 2
    assert "unknown ablation(s) no_such_trick" in capsys.readouterr().err
    # a PatchGAN head does not exist for the 2-D mixtures' MLP: refused before any training
    assert main(["ablate", "--only", "patchgan_head", "--out", str(tmp_path / "b"), *TINY]) == 2
    err = capsys.readouterr().err.strip()
    assert "ablation patchgan_head: model.d_head" in err and "\n" not in err


def test_images_of_every_size_get_the_patchgan_variant():
    # it named a 7 x 7 map, which 32 and 64 px images cannot have: every ablation of them failed
    for size in (32, 64):
        base = TrainConfig().with_overrides(["data.name=folder", "data.dir=/photos",
                                             f"data.image_size={size}", "data.channels=3"])
        trials = {t.label: t for t in ablation_trials(base, None, 1)}
        assert "patchgan_head" in trials and "pacgan_pack2" not in trials
        patch = base.with_overrides(list(trials["patchgan_head"].assignments)).validate()
        assert patch.model.patch_map(size) == size // 4


def test_the_mixtures_get_only_the_variants_that_change_something_for_them(capsys, tmp_path):
    ring = TrainConfig.for_data("ring8")
    names = {t.label for t in ablation_trials(ring, None, 1)}
    assert "pacgan_pack2" in names and "no_minibatch_stddev" in names
    # off (or on) already for the mixtures, or absent from the MLP pair: nothing to compare
    assert not names & {"minibatch_stddev", "no_label_flipping", "no_dropout_in_d",
                        "no_soft_labels", "two_sided_soft_labels", "spectral_norm_in_d",
                        "patchgan_head"}
    assert main(["ablate", "--only", "no_label_flipping", "--out", str(tmp_path / "a"),
                 *TINY]) == 2
    assert "no_label_flipping change(s) nothing for data.name=ring8" in capsys.readouterr().err


def test_an_ablation_on_images_without_a_domain_metric_tables_their_verdicts():
    rows = [{"variant": "baseline", "verdict": "healthy", "success": True},
            {"variant": "baseline", "verdict": "failure", "success": False},
            {"variant": "no_ema", "diverged": True, "verdict": "failure", "success": False}]
    assert ablation_table(rows).splitlines()[:4] == [
        "| variant | verdicts over seeds | success |", "|---|---|---|",
        "| baseline | healthy 1, failure 1 | 1/2 |", "| no_ema | failure 1 | 0/1 |"]


def test_the_table_gives_each_domain_the_other_half_of_its_success_rule():
    stacked = [{"variant": "baseline", "modes_covered": 940, "kl": 1.09, "success": False},
               {"variant": "baseline", "modes_covered": 1000, "kl": 0.05, "success": True},
               {"variant": "minibatch_stddev", "diverged": True, "success": False}]
    assert ablation_table(stacked).splitlines() == [
        "| variant | median modes_covered | range over seeds | classes / modes | median KL to "
        "uniform | success |", "|---|---|---|---|---|---|",
        "| baseline | 970.00 | 940.0..1000.0 | 970.0 | 0.57 | 1/2 |",
        "| minibatch_stddev | failed | | | | 0/1 |"]
    points = [{"variant": "baseline", "modes_covered": 8, "n_modes": 8, "high_quality": 0.9,
               "reverse_kl": 0.01, "success": True}]
    assert ablation_table(points).splitlines()[0].endswith("| median high quality | success |")
    assert ablation_table(points).splitlines()[2] == "| baseline | 8.00 | 8.0..8.0 | 8.0 | 0.90 | 1/1 |"
    digits = [{"variant": "baseline", "fid": 9.0, "classes_covered": 10, "class_kl": 0.02,
               "success": True}]
    assert ablation_table(digits).splitlines()[2] == "| baseline | 9.00 | 9.0..9.0 | 10.0 | 1/1 |"
