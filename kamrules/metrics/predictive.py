"""Predictive customer value: BG/NBD purchase forecasts, P(alive) and Gamma-Gamma CLV.

Both models are fitted by maximum likelihood on the ledger's own orders as of the run date
(Fader, Hardie & Lee 2005, "Counting your customers the easy way", and "RFM and CLV: using
iso-value curves", with the Gamma-Gamma spend model). Per customer, from the orders up to
as_of, with purchases on the same day counted as one transaction:

- ``x``   repeat transactions (purchase days after the first),
- ``t_x`` time of the last purchase, ``T`` time since the first, both from the first
  purchase, in weeks (``time_unit``),
- ``m``   mean value of the repeat transactions.

The likelihoods are evaluated in log space with ``gammaln``/``betaln``; the parameters are
fitted as logarithms inside bounds, so the optimiser can neither leave the positive range
nor overflow. A ledger with too few repeat customers raises :class:`ModelFitError` instead
of returning parameters nobody should trust.

**The limiting model.** When customers barely differ in how likely they are to drop out (a
ledger with little or no churn), the BG/NBD likelihood keeps rising as a and b grow together
with a/(a+b) steady, or as a falls to 0: the Beta distribution of the dropout probability p
collapses onto one value (0 when nobody drops out). The fit then runs to its bounds, and
kamrules fits the model that is that limit instead, and uses it when it explains the ledger as
well (log-likelihood within 0.001): BG/NBD with one dropout probability p common to all customers
(``bgnbd_common_p``; status ``limiting``). With p at 0 it is the NBD, nobody drops out and
P(alive) is 1 (``nbd``). Per customer, with λ ~ Gamma(r + x, α + T) a posteriori:
P(alive) = 1 / (1 + [x > 0] · p/(1 − p) · ((α + T)/(α + t_x))^(r + x)) and the expected
purchases in the next t are P(alive) · (1 − ((α + T)/(α + T + p t))^(r + x)) / p, which is
(r + x) t / (α + T) as p → 0.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import os
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from ..errors import ModelFitError, RulebookError
from ..files import write_replacing
from ..i18n import msg
from ..names import did_you_mean
from .catalog import add_months
from .config import PredictiveSpec
from .order_lines import order_sums, purchase_summary_of
from ..version import __version__

KEY = "customer_id"
LOG_BOUNDS = (-12.0, 12.0)  # every parameter in [6e-6, 1.6e5]
DEGENERATE = 1e4  # a + b beyond this: the dropout probability is one value, not a distribution
P_ZERO = 1e-6  # a common dropout probability below this is no dropout (the NBD)
LIKELIHOOD_SLACK = 1e-3  # the limiting model is used when it explains the ledger as well as the run-off fit


@dataclass
class FitReport:
    """What was fitted, recorded in run.json and on the portfolio's summary sheet."""

    model: str
    params: dict[str, float]
    log_likelihood: float
    customers: int
    converged: bool
    iterations: int
    extra: dict[str, float] = field(default_factory=dict)
    status: str = "fitted"  # fitted | limiting (see the module's docstring)
    used: str = ""  # the model actually used: bgnbd, bgnbd_common_p, nbd, gamma_gamma

    def as_dict(self) -> dict:
        data = asdict(self)
        data["params"] = {k: round(float(v), 6) for k, v in self.params.items()}
        data["log_likelihood"] = round(float(self.log_likelihood), 4)
        data["model"] = data.pop("used") or self.model
        return data


def purchase_summary(orders: pl.DataFrame | pl.LazyFrame, as_of: dt.date, unit_days: float = 7.0) -> pl.DataFrame:
    """customer_id, x, t_x, T, m (null when x = 0) and first order date, from the purchases (lines
    with an amount of 0 or more; returns are not purchases) up to as_of, one row per customer in
    customer order (:func:`kamrules.metrics.order_lines.purchase_summary_of`)."""
    return purchase_summary_of(order_sums([(None, orders.lazy())], as_of)[0], as_of, unit_days)


# --- BG/NBD -------------------------------------------------------------------------------

def _bgnbd_terms(r, alpha, a, b, x, t_x, T):
    from scipy.special import betaln, gammaln

    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    stay = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        drop = np.where(x > 0, betaln(a + 1, b + np.maximum(x, 1) - 1) - betaln(a, b)
                        - (r + x) * np.log(alpha + t_x), -np.inf)
    return head, stay, drop


def bgnbd_log_likelihood(params, x, t_x, T, weights=None) -> float:
    r, alpha, a, b = params
    head, stay, drop = _bgnbd_terms(r, alpha, a, b, x, t_x, T)
    ll = head + np.logaddexp(stay, drop)
    return float(np.sum(ll if weights is None else ll * weights))


class _Distinct:
    """An array as its distinct values and where each element's value is: a function of the
    element is computed once per distinct value and gathered, giving the very same numbers."""

    def __init__(self, values: np.ndarray):
        self.values, self.at = np.unique(values, return_inverse=True)

    def __call__(self, function) -> np.ndarray:
        return function(self.values)[self.at]


def _bgnbd_likelihood_of(x, t_x, T, weights):
    """:func:`bgnbd_log_likelihood` of fixed data, for the optimiser: purchase counts and times
    take a few hundred distinct values among thousands of customers, so the special functions
    and logarithms are computed once per distinct value (the same expressions, in the same
    order, element by element: the same sum to the last bit)."""
    from scipy.special import betaln, gammaln

    counts, times, ages = _Distinct(x), _Distinct(t_x), _Distinct(T)
    repeat = x > 0

    def likelihood(r, alpha, a, b) -> float:
        head = counts(lambda v: gammaln(r + v)) - gammaln(r) + r * np.log(alpha)
        stay = counts(lambda v: betaln(a, b + v)) - betaln(a, b) - (r + x) * ages(lambda v: np.log(alpha + v))
        with np.errstate(divide="ignore", invalid="ignore"):
            drop = np.where(repeat, counts(lambda v: betaln(a + 1, b + np.maximum(v, 1) - 1)) - betaln(a, b)
                            - (r + x) * times(lambda v: np.log(alpha + v)), -np.inf)
        ll = head + np.logaddexp(stay, drop)
        return float(np.sum(ll * weights))

    return likelihood


_FITS: dict[str, FitReport] = {}
_FITS_KEPT = 8
FIT_STORE: ContextVar[Path | None] = ContextVar("fit_store", default=None)  # a folder: fits kept across runs
FIT_FORMAT = 1


def remembered(fit):
    """A fit is a pure function of its data: the same data is fitted once per process (``diff``
    evaluates one ledger under two rulebooks; ``watch`` reruns it when only the rules change),
    and, when :data:`FIT_STORE` names a folder (the run's ledger cache), once across runs: a run
    after a rule change reads the fit back (JSON keeps every float exactly)."""

    def fitted(*arrays) -> FitReport:
        digest = hashlib.sha256(f"{fit.__name__}:{FIT_FORMAT}:{__version__}".encode())
        for array in arrays:
            array = np.ascontiguousarray(array, dtype=float)
            digest.update(str(array.shape).encode() + array.tobytes())
        key = digest.hexdigest()
        if key not in _FITS:
            if len(_FITS) >= _FITS_KEPT:
                del _FITS[next(iter(_FITS))]
            _FITS[key] = _stored_fit(key) or _store_fit(key, fit(*arrays))
        return copy.deepcopy(_FITS[key])

    fitted.__name__, fitted.__doc__, fitted.uncached = fit.__name__, fit.__doc__, fit
    return fitted


def _stored_fit(key: str) -> FitReport | None:
    folder = FIT_STORE.get()
    if folder is None:
        return None
    try:
        path = folder / f"{key}.json"
        report = FitReport(**json.loads(path.read_text(encoding="utf-8")))
        if not isinstance(report.params, dict) or not all(isinstance(v, float) for v in report.params.values()):
            return None
        os.utime(path)  # in use: kept by the cache's pruning
        return report
    except (OSError, ValueError, TypeError):  # absent, or damaged: fitted again
        return None


def _store_fit(key: str, report: FitReport) -> FitReport:
    folder = FIT_STORE.get()
    if folder is not None:
        data = asdict(report)
        data["params"] = {k: float(v) for k, v in report.params.items()}
        data["log_likelihood"] = float(report.log_likelihood)
        try:
            write_replacing(folder / f"{key}.json", json.dumps(data).encode("utf-8"))
        except OSError:
            pass  # not kept: fitted again next time
    return report


def forget_fits() -> None:
    """Drop the remembered fits (benchmarks time a fit, not a lookup)."""
    _FITS.clear()


@remembered
def fit_bgnbd(x, t_x, T) -> FitReport:
    """Maximum-likelihood r, α, a, b. Identical (x, t_x, T) triples are weighted, not repeated."""
    from scipy.optimize import minimize

    triples, weights = np.unique(np.column_stack([x, t_x, T]), axis=0, return_counts=True)
    ux, ut, uT = triples.T
    scale = max(float(np.max(T)), 1e-9) / 10  # times of order 10 keep α near 1 for the optimiser

    likelihood = _bgnbd_likelihood_of(ux, ut / scale, uT / scale, weights)

    def objective(logs):
        r, alpha, a, b = np.exp(logs)
        return -likelihood(r, alpha, a, b) / weights.sum()

    result = _minimise(minimize, objective, np.zeros(4))
    r, alpha, a, b = np.exp(result.x)
    alpha *= scale
    params = {"r": r, "alpha": alpha, "a": a, "b": b}
    return FitReport("bgnbd", params, bgnbd_log_likelihood((r, alpha, a, b), ux, ut, uT, weights),
                     int(weights.sum()), bool(result.success), int(result.nit))


def _minimise(minimize, objective, start):
    with np.errstate(all="ignore"):  # trial points far out overflow; the optimisers step back from them
        first = minimize(objective, start, method="L-BFGS-B", bounds=[LOG_BOUNDS] * len(start),
                         options={"ftol": 1e-13, "gtol": 1e-9, "maxiter": 2000})
        polished = minimize(objective, first.x, method="Nelder-Mead",
                            options={"xatol": 1e-9, "fatol": 1e-13, "maxiter": 4000})
    best = polished if polished.fun <= first.fun else first
    best.success = bool(first.success or polished.success)
    best.nit = int(getattr(first, "nit", 0)) + int(getattr(polished, "nit", 0))
    return best


def p_alive(params: dict, x, t_x, T) -> np.ndarray:
    """P(still active | x, t_x, T); 1 for customers who never bought again."""
    r, alpha, a, b = params["r"], params["alpha"], params["a"], params["b"]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_odds = np.log(a) - np.log(b + np.maximum(x, 1) - 1) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        return np.where(x > 0, 1 / (1 + np.exp(log_odds)), 1.0)


def expected_purchases(params: dict, t, x, t_x, T) -> np.ndarray:
    """E[purchases in the next t | x, t_x, T] (BG/NBD conditional expectation, eq. 10)."""
    from scipy.special import hyp2f1

    r, alpha, a, b = params["r"], params["alpha"], params["a"], params["b"]
    if np.isscalar(t) and t == 0:
        return np.zeros_like(np.asarray(x, dtype=float))
    z = t / (alpha + T + t)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        hyper = hyp2f1(r + x, b + x, a + b + x - 1, z)
        numerator = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyper)
        odds = np.where(x > 0, a / (b + np.maximum(x, 1) - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x), 0.0)
        return numerator / (1 + odds)


# --- the limit of BG/NBD: one dropout probability for everyone ------------------------------

def common_p_log_likelihood(params, x, t_x, T, weights=None) -> float:
    r, alpha, p = params
    from scipy.special import gammaln

    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) - (r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        stay = x * np.log1p(-p)
        drop = np.where(x > 0, np.log(p) + (np.maximum(x, 1) - 1) * np.log1p(-p)
                        + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)), -np.inf)
    ll = head + np.logaddexp(stay, drop)
    return float(np.sum(ll if weights is None else ll * weights))


@remembered
def fit_common_p(x, t_x, T) -> FitReport:
    """Maximum-likelihood r, α and the common dropout probability p (p fitted on the logit scale)."""
    from scipy.optimize import minimize

    triples, weights = np.unique(np.column_stack([x, t_x, T]), axis=0, return_counts=True)
    ux, ut, uT = triples.T
    scale = max(float(np.max(T)), 1e-9) / 10

    def objective(values):
        r, alpha = np.exp(values[:2])
        p = 1 / (1 + np.exp(-values[2]))
        return -common_p_log_likelihood((r, alpha, p), ux, ut / scale, uT / scale, weights) / weights.sum()

    result = _minimise(minimize, objective, np.array([0.0, 0.0, -4.0]))
    r, alpha = np.exp(result.x[:2])
    p = float(1 / (1 + np.exp(-result.x[2])))
    alpha *= scale
    used = "nbd" if p < P_ZERO else "bgnbd_common_p"
    params = {"r": r, "alpha": alpha} | ({} if used == "nbd" else {"p": p})
    report = FitReport("bgnbd", params, common_p_log_likelihood((r, alpha, 0.0 if used == "nbd" else p), ux, ut,
                                                                uT, weights),
                       int(weights.sum()), bool(result.success), int(result.nit), status="limiting", used=used)
    return report


def p_alive_common(params: dict, x, t_x, T) -> np.ndarray:
    """P(still active) when every customer has the same dropout probability p (1 for the NBD)."""
    p = params.get("p", 0.0)
    if p == 0:
        return np.ones_like(np.asarray(x, dtype=float))
    r, alpha = params["r"], params["alpha"]
    with np.errstate(over="ignore"):
        odds = np.where(x > 0, p / (1 - p) * np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + t_x))), 0.0)
    return 1 / (1 + odds)


def expected_purchases_common(params: dict, t, x, t_x, T) -> np.ndarray:
    """E[purchases in the next t | x, t_x, T] with a common dropout probability p."""
    r, alpha, p = params["r"], params["alpha"], params.get("p", 0.0)
    if p == 0:
        return (r + x) * t / (alpha + T)
    kept = np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + p * t)))
    return p_alive_common(params, x, t_x, T) * (1 - kept) / p


# --- Gamma-Gamma --------------------------------------------------------------------------

def gamma_gamma_log_likelihood(params, x, m) -> float:
    from scipy.special import gammaln

    p, q, gamma = params
    px = p * x
    return float(np.sum(gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(gamma)
                        + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * np.log(gamma + m * x)))


def _gamma_gamma_likelihood_of(x, m):
    """:func:`gamma_gamma_log_likelihood` of fixed data, for the optimiser: the terms of ``x`` alone
    once per distinct count, the logarithms of the data once (the same numbers, the same sum)."""
    from scipy.special import gammaln

    counts, log_m, log_x, mx = _Distinct(x), np.log(m), np.log(x), m * x

    def likelihood(p, q, gamma) -> float:
        px = p * x
        return float(np.sum(counts(lambda v: gammaln(p * v + q)) - counts(lambda v: gammaln(p * v)) - gammaln(q)
                            + q * np.log(gamma) + (px - 1) * log_m + px * log_x - (px + q) * np.log(gamma + mx)))

    return likelihood


@remembered
def fit_gamma_gamma(x, m) -> FitReport:
    from scipy.optimize import minimize

    scale = float(np.mean(m))
    likelihood = _gamma_gamma_likelihood_of(x, m / scale)

    def objective(logs):
        p, q, gamma = np.exp(logs)
        return -likelihood(p, q, gamma) / len(x)

    result = _minimise(minimize, objective, np.array([0.0, 0.7, 0.0]))
    p, q, gamma = np.exp(result.x)
    gamma *= scale
    params = {"p": p, "q": q, "gamma": gamma}
    return FitReport("gamma_gamma", params, gamma_gamma_log_likelihood((p, q, gamma), x, m), len(x),
                     bool(result.success), int(result.nit))


def expected_value(params: dict, x, m) -> np.ndarray:
    """E[mean transaction value | x, m]; the population mean pγ/(q-1) for customers with x = 0."""
    p, q, gamma = params["p"], params["q"], params["gamma"]
    population = p * gamma / (q - 1)
    with np.errstate(invalid="ignore"):
        return np.where(x > 0, (gamma + np.nan_to_num(m) * x) * p / (p * x + q - 1), population)


# --- the metrics --------------------------------------------------------------------------

def predictive_types(spec: PredictiveSpec) -> dict[str, tuple[str, str, str]]:
    """Metric name → (type, title, English title), known without data."""
    h, (zh, en) = spec.horizon, _horizon_titles(spec)
    return {f"expected_purchases_{h}": ("number", f"预计未来{zh}购买次数", f"Expected purchases, next {en}"),
            "p_alive": ("percent", "仍活跃概率", "Probability still active"),
            "expected_avg_order_value": ("money", "预计平均单次消费", "Expected average order value"),
            f"clv_{h}": ("money", f"未来{zh}客户价值（折现）", f"Customer value, next {en} (discounted)")}


def _horizon_titles(spec: PredictiveSpec) -> tuple[str, str]:
    """The horizon in words: ``12个月`` / ``12 months``."""
    count, monthly = spec.parsed_horizon.count, spec.parsed_horizon.unit == "m"
    english = f"{count} {'month' if monthly else 'day'}{'' if count == 1 else 's'}"
    return (f"{count}个月" if monthly else f"{count}天"), english


def predictive_metrics(frame: pl.DataFrame, orders: pl.DataFrame | pl.LazyFrame | None, as_of: dt.date,
                       spec: PredictiveSpec, reports: dict | None = None,
                       summary: pl.DataFrame | None = None) -> pl.DataFrame:
    """Add the four predictive metrics to the customer frame; record the fits in ``reports``.
    ``summary``: the purchase summary of ``orders`` when already made (:func:`purchase_summary`).
    A ledger that cannot support the fit raises :class:`ModelFitError`, or with
    ``if_unfit: empty`` gets empty metrics and the error under ``reports["unfit"]``."""
    if isinstance(spec.margin, str) and spec.margin not in frame.columns:
        raise RulebookError(msg("predictive.margin", margin=spec.margin),
                            file="rules/metrics.yaml", rule_id="predictive.margin",
                            suggestion=did_you_mean(spec.margin, frame.columns) or msg("predictive.margin.hint"))
    try:
        return _score(frame, fit_models(orders, as_of, spec, summary), as_of, spec, reports)
    except ModelFitError as error:
        if spec.if_unfit == "error":
            raise
        if reports is not None:
            reports["unfit"] = error
            for model in ("bgnbd", "gamma_gamma"):
                reports[model] = {"status": "not_fitted", "model": None, "reason": str(error.message)}
        types = {"number": pl.Float64, "percent": pl.Float64, "money": pl.Float64}
        return frame.with_columns([pl.lit(None, dtype=types[t]).alias(name)
                                   for name, (t, *_) in predictive_types(spec).items()])


@dataclass
class Fits:
    """What :func:`fit_models` gives: the purchase summary, its arrays and both fitted models."""

    summary: pl.DataFrame
    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    repeaters: int
    bgnbd: FitReport
    gamma_gamma: FitReport


def fit_models(orders: pl.DataFrame | pl.LazyFrame | None, as_of: dt.date, spec: PredictiveSpec,
               summary: pl.DataFrame | None = None) -> Fits:
    """BG/NBD (or its limit) and Gamma-Gamma fitted to the purchases up to ``as_of``; raises
    :class:`ModelFitError` when the ledger cannot support them."""
    if orders is None or orders.lazy().select(pl.len()).collect().item() == 0:
        raise ModelFitError(msg("predictive.no_orders"), model="bgnbd", suggestion=msg("predictive.no_orders.hint"))
    if summary is None:
        summary = purchase_summary(orders, as_of, spec.unit_days)
    x, t_x, T = (summary[c].to_numpy().astype(float) for c in ("x", "t_x", "T"))
    repeaters = int((x > 0).sum())
    if repeaters < spec.min_repeat_customers:
        raise ModelFitError(
            msg("predictive.few_repeaters", repeaters=repeaters, customers=len(x), needed=spec.min_repeat_customers),
            model="bgnbd", customers=len(x), repeat_customers=repeaters,
            suggestion=msg("predictive.few_repeaters.hint"))
    bgnbd = fit_bgnbd(x, t_x, T)
    if _dropout_at_a_bound(bgnbd):
        limit = fit_common_p(x, t_x, T)
        if limit.log_likelihood >= bgnbd.log_likelihood - LIKELIHOOD_SLACK:
            bgnbd = limit
    _check_fit(bgnbd, len(x), repeaters)
    repeat = x > 0
    m = summary["m"].to_numpy().astype(float)
    usable = repeat & np.isfinite(m) & (m > 0)
    gg = fit_gamma_gamma(x[usable], m[usable])
    _check_fit(gg, len(x), repeaters)
    if gg.params["q"] <= 1:
        raise ModelFitError(msg("predictive.unbounded", q=gg.params["q"]),
                            model="gamma_gamma", customers=len(x), repeat_customers=repeaters,
                            suggestion=msg("predictive.unbounded.hint"))
    return Fits(summary, x, t_x, T, repeaters, bgnbd, gg)


def _score(frame: pl.DataFrame, fits: Fits, as_of: dt.date, spec: PredictiveSpec, reports: dict | None) -> pl.DataFrame:
    names = list(predictive_types(spec))
    summary, x, t_x, T, bgnbd, gg = fits.summary, fits.x, fits.t_x, fits.T, fits.bgnbd, fits.gamma_gamma
    alive, expected = (p_alive, expected_purchases) if bgnbd.status == "fitted" else \
        (p_alive_common, expected_purchases_common)
    m = summary["m"].to_numpy().astype(float)
    values = expected_value(gg.params, x, m)
    steps = _horizon_steps(as_of, spec)
    cumulative = [np.zeros_like(x)] + [expected(bgnbd.params, t, x, t_x, T) for t, _ in steps]
    rate = spec.discount_rate
    discounted = sum((cumulative[i + 1] - cumulative[i]) / (1 + rate) ** years for i, (_, years) in enumerate(steps))
    scored = summary.select(KEY).with_columns(
        pl.Series(names[0], cumulative[-1]), pl.Series(names[1], alive(bgnbd.params, x, t_x, T)),
        pl.Series(names[2], values).round(2), pl.Series("_clv_revenue", discounted * values))
    frame = frame.join(scored, on=KEY, how="left")
    margin = pl.lit(spec.margin) if isinstance(spec.margin, (int, float)) else pl.col(spec.margin)
    frame = frame.with_columns((pl.col("_clv_revenue") * margin).round(2).alias(names[3])).drop("_clv_revenue")
    if reports is not None:
        gg.extra = {"population_mean_value": round(float(gg.params["p"] * gg.params["gamma"] / (gg.params["q"] - 1)), 2)}
        bgnbd.extra = {"repeat_customers": fits.repeaters, "time_unit_days": spec.unit_days}
        reports["bgnbd"], reports["gamma_gamma"] = bgnbd.as_dict(), gg.as_dict()
    return frame


def _dropout_at_a_bound(report: FitReport) -> bool:
    """BG/NBD's a or b ran to a bound with r and α settled: the dropout probability has no spread
    left to fit (a + b → ∞), or it sits at 0 (a → 0 against b): the limiting model's cases."""
    a, b, r, alpha = (report.params[k] for k in ("a", "b", "r", "alpha"))
    settled = all(abs(np.log(v)) < LOG_BOUNDS[1] - 1e-3 for v in (r, alpha))
    edge = LOG_BOUNDS[1] - 1e-3
    return settled and (a + b > DEGENERATE or abs(np.log(a)) > edge or abs(np.log(b)) > edge)


def _check_fit(report: FitReport, customers: int, repeaters: int) -> None:
    values = np.array([v for k, v in report.params.items() if k != "p"])
    at_bound = np.any(np.abs(np.log(values)) > LOG_BOUNDS[1] - 1e-3)
    if not np.isfinite(report.log_likelihood) or at_bound:
        parameters = ", ".join(f"{k}={v:.4g}" for k, v in report.params.items())
        raise ModelFitError(msg("predictive.unsettled", model=report.model, parameters=parameters),
                            model=report.model, customers=customers, repeat_customers=repeaters,
                            suggestion=msg("predictive.unsettled.hint"))


def _horizon_steps(as_of: dt.date, spec: PredictiveSpec) -> list[tuple[float, float]]:
    """(time from as_of in model units, years from as_of) at the end of each month (or the
    horizon's end for a day horizon), for discounting purchases in the period they happen."""
    window = spec.parsed_horizon
    if window.unit == "d":
        ends = [as_of + dt.timedelta(days=window.count)]
    else:
        ends = [add_months(as_of, i) for i in range(1, window.count + 1)]
    return [((end - as_of).days / spec.unit_days, (end - as_of).days / 365.25) for end in ends]
