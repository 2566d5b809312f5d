import math

from steadygan.sweep.ranking import best_trials_text, ranked


def _names(results):
    return [r["trial"] for r in ranked(results)]


def test_digits_rank_successes_first_then_lower_fid_then_verdict():
    results = [
        {"trial": "a", "fid": 25.0, "classes_covered": 9, "verdict": "healthy", "success": False},
        {"trial": "b", "fid": 9.5, "classes_covered": 10, "verdict": "warnings", "success": True},
        {"trial": "c", "fid": 8.0, "classes_covered": 10, "verdict": "healthy", "success": True},
        {"trial": "d", "diverged": True, "verdict": "failure", "success": False},  # no fid
        {"trial": "e", "fid": 25.0, "classes_covered": 9, "verdict": "failure", "success": False},
        {"trial": "f", "fid": math.nan, "verdict": "healthy", "success": False},  # damaged
    ]
    assert _names(results) == ["c", "b", "a", "e", "f", "d"]


def test_mixtures_rank_by_modes_then_quality_and_stacked_mnist_by_modes_then_kl():
    mixtures = [{"trial": "a", "modes_covered": 8, "high_quality": 0.7, "success": False},
                {"trial": "b", "modes_covered": 8, "high_quality": 0.9, "success": False},
                {"trial": "c", "modes_covered": 7, "high_quality": 0.99, "success": False}]
    assert _names(mixtures) == ["b", "a", "c"]
    stacks = [{"trial": "a", "modes_covered": 1000, "kl": 0.3, "success": False},
              {"trial": "b", "modes_covered": 1000, "kl": 0.12, "success": False},
              {"trial": "c", "modes_covered": 990, "kl": 0.05, "success": False}]
    assert _names(stacks) == ["b", "a", "c"]


def test_images_without_a_metric_rank_by_success_and_verdict():
    results = [{"trial": "a", "verdict": "failure", "success": False},
               {"trial": "b", "verdict": "recovered", "success": True},
               {"trial": "c", "verdict": "healthy", "success": True}]
    assert _names(results) == ["c", "b", "a"]
    heading = best_trials_text(results).splitlines()[0]
    assert heading == "best 3 of 3 trials (by success and verdict):"


def test_the_table_shows_the_best_five_with_their_headline_columns():
    results = [{"trial": f"t{i}", "fid": 30.0 - i, "classes_covered": 9, "verdict": "healthy",
                "success": False} for i in range(8)]
    lines = best_trials_text(results).splitlines()
    assert lines[0] == "best 5 of 8 trials (by fid):"
    assert lines[1].split() == ["trial", "fid", "classes_covered", "verdict", "success"]
    assert [line.split()[:2] for line in lines[2:]] == [
        ["t7", "23"], ["t6", "24"], ["t5", "25"], ["t4", "26"], ["t3", "27"]]
    assert all(line.split()[-2:] == ["healthy", "no"] for line in lines[2:])
    assert best_trials_text([]) == ""
