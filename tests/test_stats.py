"""course_utils.stats: McNemar's test against scipy and published tables, the paired bootstrap, the seed verdict."""
import numpy as np
import pytest
from scipy.stats import binomtest

from course_utils import stats


@pytest.mark.parametrize("b, c", [(0, 0), (0, 1), (1, 7), (7, 1), (3, 3), (5, 12), (40, 61), (0, 25), (200, 260)])
def test_exact_mcnemar_is_the_binomial_test(b, c):
    got = stats.mcnemar_counts(b, c, "exact").pvalue
    want = binomtest(b, b + c, 0.5).pvalue if b + c else 1.0
    assert got == pytest.approx(want, rel=1e-10, abs=1e-15)


@pytest.mark.parametrize("b, c", [(0, 1), (1, 7), (3, 3), (5, 12), (40, 61), (0, 25)])
def test_mid_p_is_the_exact_p_less_the_observed_point(b, c):
    exact = binomtest(b, b + c, 0.5)
    n, low = b + c, min(b, c)
    from scipy.stats import binom

    want = min(1.0, exact.pvalue - binom.pmf(low, n, 0.5)) if b != c else 1.0
    got = stats.mcnemar_counts(b, c, "midp").pvalue
    assert got == pytest.approx(want, rel=1e-10)
    assert got <= stats.mcnemar_counts(b, c, "exact").pvalue


def test_published_example_fagerland_2013():
    # Fagerland, Lydersen, Laake (2013), BMC Med Res Methodol 13:91: airway hyper-responsiveness
    # before / after stem cell transplantation, 21 children, discordant pairs 1 and 7:
    # exact conditional p = 0.070, mid-p = 0.039, asymptotic McNemar p = 0.034
    assert round(stats.mcnemar_counts(1, 7, "exact").pvalue, 3) == 0.070
    assert round(stats.mcnemar_counts(1, 7, "midp").pvalue, 3) == 0.039
    assert round(stats.mcnemar_counts(1, 7, "asymptotic").pvalue, 3) == 0.034


def test_published_example_agresti():
    # Agresti, Categorical Data Analysis: presidential approval in two surveys (794, 150, 86, 570):
    # McNemar's z² = (86 − 150)² / (86 + 150) = 17.36
    result = stats.mcnemar_counts(150, 86, "asymptotic")
    assert round(result.statistic, 2) == 17.36 and result.pvalue < 1e-4


def test_mcnemar_reads_the_discordant_pairs_from_per_image_arrays():
    a = np.array([1, 1, 1, 0, 0, 1, 0, 1], bool)
    b = np.array([1, 0, 0, 1, 0, 1, 1, 1], bool)   # only a right: 2 images; only b right: 2
    assert stats.discordant(a, b) == (2, 2)
    result = stats.mcnemar(a, b.astype(int), "exact")
    assert (result.b, result.c, result.pvalue) == (2, 2, 1.0)
    assert stats.mcnemar(a, a).pvalue == 1.0   # identical models: no disagreement, no evidence
    a_right = np.r_[np.zeros(30, bool), np.ones(70, bool)]
    result = stats.mcnemar(a_right, np.ones(100, bool), "exact")   # B fixes A's 30 errors and breaks none
    assert (result.b, result.c) == (0, 30) and result.pvalue == pytest.approx(2 * 0.5 ** 30)


@pytest.mark.parametrize("bad", [
    lambda: stats.mcnemar(np.ones(5, bool), np.ones(6, bool)),
    lambda: stats.mcnemar(np.array([0, 1, 2]), np.array([0, 1, 1])),
    lambda: stats.mcnemar(np.array([], bool), np.array([], bool)),
    lambda: stats.mcnemar_counts(-1, 3),
    lambda: stats.mcnemar_counts(1.5, 3),
    lambda: stats.mcnemar_counts(1, 3, "fisher"),
    lambda: stats.paired_bootstrap(np.ones(5, bool), np.ones(5, bool), confidence=95),
])
def test_bad_input_is_refused_with_a_message(bad):
    with pytest.raises(ValueError, match=r"\w"):
        bad()


def test_bootstrap_of_identical_models_is_zero():
    a = np.random.default_rng(0).random(300) < 0.8
    r = stats.paired_bootstrap(a, a)
    assert (r.diff, r.low, r.high) == (0.0, 0.0, 0.0)


def test_bootstrap_difference_and_interval():
    rng = np.random.default_rng(1)
    a = rng.random(2000) < 0.85
    b = a.copy()
    flip = rng.choice(2000, 120, replace=False)
    b[flip[:90]] = True     # b fixes some of a's errors and breaks others
    b[flip[90:]] = False
    r = stats.paired_bootstrap(a, b, n_boot=4000, seed=3)
    assert r.diff == pytest.approx(b.mean() - a.mean(), abs=1e-12)
    assert r.low < r.diff < r.high
    d = b.astype(float) - a
    half_width = 1.96 * d.std() / np.sqrt(len(d))        # normal approximation of the same interval
    assert (r.high - r.low) / 2 == pytest.approx(half_width, rel=0.1)
    assert stats.paired_bootstrap(a, b, n_boot=4000, seed=3) == r   # reproducible from its seed


def test_bootstrap_uses_the_pairing():
    # two models of equal accuracy that disagree on nothing but 10 images: the paired interval is
    # far narrower than two independent accuracies' standard errors would suggest
    a = np.r_[np.ones(900, bool), np.zeros(100, bool)]
    b = a.copy()
    b[:5] = False
    b[900:905] = True
    r = stats.paired_bootstrap(a, b)
    unpaired_se = np.sqrt(2 * 0.9 * 0.1 / 1000)
    assert r.diff == 0.0 and r.high - r.low < 2 * 1.96 * unpaired_se / 3


def test_bootstrap_averages_seeds_per_image():
    rng = np.random.default_rng(2)
    a = rng.random((3, 500)) < 0.8
    b = rng.random((3, 500)) < 0.9
    r = stats.paired_bootstrap(a, b, n_boot=500)
    assert r.diff == pytest.approx(b.mean() - a.mean(), abs=1e-12)


def _seeds(n_img, accs, rng):
    return np.array([rng.random(n_img) < p for p in accs])


def test_compare_seeds_verdicts():
    rng = np.random.default_rng(4)
    base = _seeds(1000, [0.85, 0.85, 0.85], rng)
    better = base.copy()
    for s in range(3):   # every seed fixes 60 errors and breaks 10
        wrong, right = np.flatnonzero(~base[s]), np.flatnonzero(base[s])
        better[s, rng.choice(wrong, 60, replace=False)] = True
        better[s, rng.choice(right, 10, replace=False)] = False
    r = stats.compare_seeds(base, better)
    assert r["verdict"] == "better" and r["low"] > 0
    assert r["diffs"] == pytest.approx([0.05, 0.05, 0.05])
    assert r["acc_mean"] == pytest.approx(better.mean(1).mean()) and r["acc_std"] == pytest.approx(better.mean(1).std(ddof=1))
    assert all(p < 1e-6 for p in r["midp"])
    assert stats.compare_seeds(better, base)["verdict"] == "worse"
    mixed = better.copy()
    mixed[2] = base[2]
    mixed[2, np.flatnonzero(base[2])[:20]] = False   # the third seed is worse: no verdict
    r = stats.compare_seeds(base, mixed)
    assert min(r["diffs"]) < 0 < max(r["diffs"]) and r["verdict"] == "unclear"
    assert stats.compare_seeds(base, base)["verdict"] == "unclear"


def test_one_seed_gives_no_verdict():
    a = np.ones((1, 100), bool)
    with pytest.raises(ValueError, match="3"):
        stats.compare_seeds(a, a)
    with pytest.raises(ValueError):
        stats.compare_seeds(np.ones((2, 100), bool), np.ones((2, 100), bool))
    with pytest.raises(ValueError):
        stats.compare_seeds(np.ones(100, bool), np.ones(100, bool))


def test_bootstrap_of_scores_matches_the_normal_interval_and_leaves_undefined_images_out():
    rng = np.random.default_rng(5)
    a = rng.uniform(0.6, 1.0, 800)
    b = np.clip(a + rng.normal(0.02, 0.05, 800), 0, 1)
    a[:40] = np.nan                                  # images with nothing to find and nothing found
    b[20:60] = np.nan
    r = stats.paired_bootstrap_scores(a, b, n_boot=4000, seed=2)
    keep = ~np.isnan(a) & ~np.isnan(b)
    d = b[keep] - a[keep]
    assert keep.sum() == 740 and r.diff == pytest.approx(d.mean(), abs=1e-12)
    assert (r.high - r.low) / 2 == pytest.approx(1.96 * d.std() / np.sqrt(len(d)), rel=0.1)
    assert r.low > 0                                 # B is better by about 0.02 on 740 images


def test_bootstrap_of_scores_refuses_unpaired_or_empty_input():
    with pytest.raises(ValueError):
        stats.paired_bootstrap_scores(np.ones(3), np.ones(4))
    with pytest.raises(ValueError):
        stats.paired_bootstrap_scores(np.full(3, np.nan), np.ones(3))
