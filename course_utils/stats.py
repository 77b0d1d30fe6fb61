"""Paired comparisons of two classifiers scored on the same images.

Two models scored on the same validation images are **paired** data: most images are right
(or wrong) for both, and only the images on which they disagree carry information about which
is better. The standard error of one accuracy, √(p(1 − p)/n), ignores that pairing and ignores
that a second training run of the same recipe (another seed) lands elsewhere. This module gives
the tests a course needs instead:

- :func:`mcnemar`: McNemar's test on the per-image correct / incorrect of two models (exact
  conditional binomial test, its mid-p version, or the asymptotic χ² without continuity
  correction) — is *this* pair of trained models different on these images?
- :func:`paired_bootstrap`: a confidence interval for the accuracy difference, resampling the
  images (the same resampled images for both models); arrays of several seeds are averaged per
  image first.
- :func:`paired_bootstrap_scores`: the same for a score per image (boundary F, Dice), NaN left out.
- :func:`compare_seeds`: a recipe against a baseline over several seeds (paired by seed and by
  image): mean ± standard deviation of each accuracy, each seed's McNemar mid-p, the bootstrap
  interval of the mean difference, and a verdict that needs every seed to agree.

Inputs are boolean (or 0/1) arrays, ``True`` where a model's prediction is correct.
"""
from dataclasses import dataclass

import numpy as np

from .i18n import register, t

__all__ = ["McNemarResult", "BootstrapResult", "discordant", "mcnemar", "mcnemar_counts",
           "paired_bootstrap", "paired_bootstrap_scores", "compare_seeds", "MIN_SEEDS"]

register({
    "stats.bad_method": {"ja": "method は \"exact\"、\"midp\"、\"asymptotic\" のどれかです ({got} が渡されました)。",
                         "en": "method must be \"exact\", \"midp\" or \"asymptotic\" (got {got})."},
    "stats.bad_counts": {"ja": "不一致の数 b と c は 0 以上の整数にしてください (b={b}, c={c})。",
                         "en": "the discordant counts b and c must be non-negative integers (b={b}, c={c})."},
    "stats.bad_shape": {"ja": "2 つのモデルの正誤は同じ形の配列にしてください ({a} と {b})。同じ画像で採点したものを渡します。",
                        "en": "the two models' correct/incorrect arrays must have the same shape ({a} vs {b}): "
                              "score both on the same images."},
    "stats.bad_values": {"ja": "正誤の配列には True/False (または 1/0) だけを入れてください。",
                         "en": "the correct/incorrect arrays may hold only True/False (or 1/0)."},
    "stats.empty": {"ja": "画像が 1 枚もありません。", "en": "there are no images."},
    "stats.few_seeds": {"ja": "シードが {got} 個しかありません。1 回の学習から判定はしません: {need} 個以上のシードで学習してください。",
                        "en": "only {got} seed(s): no verdict from one training run — train with at least {need} seeds."},
    "stats.bad_confidence": {"ja": "confidence は 0 より大きく 1 より小さい数にしてください ({got} が渡されました)。",
                             "en": "confidence must be between 0 and 1, exclusive (got {got})."},
})

METHODS = ("exact", "midp", "asymptotic")
MIN_SEEDS = 3


@dataclass(frozen=True)
class McNemarResult:
    """``b``: images model A gets right and B wrong; ``c``: A wrong and B right.

    ``statistic`` is χ² = (b − c)² / (b + c) for the asymptotic test and min(b, c) otherwise.
    """
    b: int
    c: int
    statistic: float
    pvalue: float
    method: str


@dataclass(frozen=True)
class BootstrapResult:
    """``diff`` = accuracy(B) − accuracy(A) on the images given; ``low``, ``high``: its interval."""
    diff: float
    low: float
    high: float
    confidence: float
    n_boot: int


def _correct(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(t("stats.bad_shape", a=a.shape, b=b.shape))
    for x in (a, b):
        if x.dtype != bool and not np.isin(x, (0, 1)).all():
            raise ValueError(t("stats.bad_values"))
    if a.size == 0 or a.shape[-1] == 0:
        raise ValueError(t("stats.empty"))
    return a.astype(bool), b.astype(bool)


def discordant(correct_a, correct_b) -> tuple[int, int]:
    """``(b, c)``: the images only A gets right, and those only B gets right."""
    a, b = _correct(correct_a, correct_b)
    return int((a & ~b).sum()), int((~a & b).sum())


def mcnemar_counts(b: int, c: int, method: str = "midp") -> McNemarResult:
    """McNemar's test from the two discordant counts (two-sided).

    Under the null hypothesis (both models equally accurate) each of the ``n = b + c``
    disagreements is A's win with probability 1/2, so ``b ~ Binomial(n, 1/2)``:

    - ``"exact"``: the conditional binomial test, p = min(1, 2 P(X ≤ min(b, c)))
      (equal to ``scipy.stats.binomtest(b, n, 0.5).pvalue``);
    - ``"midp"``: the exact p minus P(X = min(b, c)) — closer to the nominal level and less
      conservative (Fagerland, Lydersen and Laake, BMC Med. Res. Methodol. 13:91, 2013);
    - ``"asymptotic"``: χ² = (b − c)² / n with one degree of freedom, no continuity correction.

    With no disagreement (n = 0) the p-value is 1.
    """
    from scipy import stats

    if method not in METHODS:
        raise ValueError(t("stats.bad_method", got=method))
    if not all(isinstance(v, (int, np.integer)) and v >= 0 for v in (b, c)):
        raise ValueError(t("stats.bad_counts", b=b, c=c))
    b, c = int(b), int(c)
    n, low = b + c, min(b, c)
    if n == 0:
        return McNemarResult(b, c, 0.0, 1.0, method)
    if method == "asymptotic":
        chi2 = (b - c) ** 2 / n
        return McNemarResult(b, c, float(chi2), float(stats.chi2.sf(chi2, 1)), method)
    exact = min(1.0, 2.0 * float(stats.binom.cdf(low, n, 0.5)))
    if method == "exact":
        return McNemarResult(b, c, float(low), exact, method)
    midp = 2.0 * (float(stats.binom.cdf(low, n, 0.5)) - 0.5 * float(stats.binom.pmf(low, n, 0.5)))
    return McNemarResult(b, c, float(low), min(1.0, midp), method)


def mcnemar(correct_a, correct_b, method: str = "midp") -> McNemarResult:
    """McNemar's test on two models' per-image correct / incorrect (same images, same order).

    It asks whether these two trained models differ in accuracy on the distribution the images
    come from. It says nothing about another training run: a second seed of the same recipe is
    another model (see :func:`compare_seeds`).
    """
    a, b = _correct(correct_a, correct_b)
    if a.ndim != 1:
        raise ValueError(t("stats.bad_shape", a=a.shape, b=b.shape))
    return mcnemar_counts(*discordant(a, b), method=method)


def _bootstrap_mean(per_image, n_boot: int, confidence: float, seed: int) -> BootstrapResult:
    """Percentile bootstrap interval of the mean of per-image differences (the images resampled)."""
    if not 0 < confidence < 1:
        raise ValueError(t("stats.bad_confidence", got=confidence))
    n = per_image.size
    if n == 0:
        raise ValueError(t("stats.empty"))
    rng = np.random.default_rng(seed)
    boots = np.empty(n_boot)
    chunk = max(1, 2_000_000 // n)                     # bounded memory for large validation sets
    for start in range(0, n_boot, chunk):
        rows = min(chunk, n_boot - start)
        boots[start:start + rows] = per_image[rng.integers(0, n, size=(rows, n))].mean(1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(boots, [tail, 100 - tail])
    return BootstrapResult(float(per_image.mean()), float(low), float(high), confidence, n_boot)


def paired_bootstrap(correct_a, correct_b, n_boot: int = 2000, confidence: float = 0.95,
                     seed: int = 0) -> BootstrapResult:
    """Percentile bootstrap interval of accuracy(B) − accuracy(A), resampling the images.

    Both models are resampled with the *same* image indices (the pairing). Arrays shaped
    (seeds, images), paired by seed, are first averaged over the seeds for each image, so the
    difference is that of the mean accuracies over the seeds.
    """
    if not 0 < confidence < 1:
        raise ValueError(t("stats.bad_confidence", got=confidence))
    a, b = _correct(correct_a, correct_b)
    if a.ndim == 1:
        a, b = a[None], b[None]
    return _bootstrap_mean(b.mean(0) - a.mean(0), n_boot, confidence, seed)


def paired_bootstrap_scores(scores_a, scores_b, n_boot: int = 2000, confidence: float = 0.95,
                            seed: int = 0) -> BootstrapResult:
    """:func:`paired_bootstrap` for a per-image score (a boundary F-score, a Dice, an IoU): the interval
    of mean(B − A) over the images, both resampled with the same indices. An image where either score
    is NaN (undefined: nothing to find and nothing found) is left out, as averages leave it out."""
    a, b = np.asarray(scores_a, dtype=np.float64), np.asarray(scores_b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(t("stats.bad_shape", a=a.shape, b=b.shape))
    both = ~np.isnan(a) & ~np.isnan(b)
    return _bootstrap_mean(b[both] - a[both], n_boot, confidence, seed)


def compare_seeds(baseline, other, alpha: float = 0.05, n_boot: int = 2000, seed: int = 0,
                  min_seeds: int = MIN_SEEDS) -> dict:
    """A recipe (``other``) against a ``baseline``, both (seeds, images) correct/incorrect arrays.

    Row ``s`` of both comes from the same seed (same initialisation and batch order) and both are
    scored on the same images. Returns a dict:

    - ``acc_mean``, ``acc_std``: the recipe's accuracy over the seeds (standard deviation with
      ddof=1); ``base_mean``, ``base_std`` the same for the baseline;
    - ``diffs``: each seed's accuracy difference (recipe − baseline); ``diff_mean``, ``diff_std``;
    - ``midp``: each seed's McNemar mid-p value;
    - ``low``, ``high``: the paired bootstrap interval (level 1 − ``alpha``) of ``diff_mean``;
    - ``verdict``: ``"better"`` when every seed's difference is positive and the interval lies
      above 0, ``"worse"`` in the mirror case, otherwise ``"unclear"``.

    Fewer than ``min_seeds`` seeds raise ``ValueError``: one training run gives no verdict.
    """
    a, b = _correct(baseline, other)
    if a.ndim != 2 or a.shape[0] < min_seeds:
        raise ValueError(t("stats.few_seeds", got=1 if a.ndim == 1 else a.shape[0], need=min_seeds))
    base_acc, acc = a.mean(1), b.mean(1)
    diffs = acc - base_acc
    boot = paired_bootstrap(a, b, n_boot=n_boot, confidence=1 - alpha, seed=seed)
    if (diffs > 0).all() and boot.low > 0:
        verdict = "better"
    elif (diffs < 0).all() and boot.high < 0:
        verdict = "worse"
    else:
        verdict = "unclear"
    return {
        "acc_mean": float(acc.mean()), "acc_std": float(acc.std(ddof=1)),
        "base_mean": float(base_acc.mean()), "base_std": float(base_acc.std(ddof=1)),
        "diffs": diffs.tolist(), "diff_mean": float(diffs.mean()), "diff_std": float(diffs.std(ddof=1)),
        "midp": [mcnemar(a[s], b[s], "midp").pvalue for s in range(a.shape[0])],
        "low": boot.low, "high": boot.high, "verdict": verdict,
    }
