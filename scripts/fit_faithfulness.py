"""Fit the offline faithfulness scorer's coefficients on FRANK and write summarizer/evals/faithfulness_model.json.

    python scripts/fit_faithfulness.py [--articles A] [--judgements J] [--out PATH] [--lexical-only]
    python scripts/fit_faithfulness.py --reader local/qwen2.5-coder-1.5b [--no-question] [--signals-cache F]  # model

For each mode (``lexical``, the default: no embedder; ``embedding``: lexical signals + all-MiniLM-L6-v2) a
statement-level logistic model is fitted so that the geometric mean of a summary's statement probabilities
matches the human ``factuality`` (cross-entropy with the fractional label, L2 on standardised signals).
Cross-validated figures come from GroupKFold by article id (no article's summaries are in both the training and
the test folds); the shipped coefficients are then fitted on all rows. Needs numpy, scipy and scikit-learn
(the scorer itself needs numpy only).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy import optimize
from sklearn.model_selection import GroupKFold

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from summarizer.evals.faithfulness import READER, FaithfulnessScorer  # noqa: E402
from summarizer.evals.faithfulness_lm import MODEL_SIGNALS  # noqa: E402
from summarizer.evals.meta import correlations, load_frank  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "frank"
LEXICAL = ["content_in_best", "fragment_density", "fragments", "numbers_absent", "pair_cooccur_all", "lcs_best"]
FEATURES = {"lexical": LEXICAL, "embedding": [*LEXICAL, "embed_best"]}
L2 = 1e-2
FOLDS = 5
#: The model mode's candidate feature sets and L2 values, chosen between by the inner folds of the nested CV.
MODEL_CANDIDATES = {
    "lexical+all": [*LEXICAL, *MODEL_SIGNALS],
    "lexical+likelihood": [*LEXICAL, "lm_cond_mean", "lm_cond_min", "lm_pmi_mean", "lm_pmi_min"],
    "lexical+pmi+yes": [*LEXICAL, "lm_pmi_mean", "lm_pmi_min", "lm_yes"],
    "lexical+yes": [*LEXICAL, "lm_yes"],
}
MODEL_L2 = (1e-2, 3e-2, 1e-1)
BOOTSTRAP = 2000


def fit(stmts: list[np.ndarray], target: np.ndarray, l2: float = L2) -> dict[str, Any]:
    """Fit on per-summary statement matrices; returns mean, scale, coef, intercept."""
    x = np.vstack(stmts)
    mean, scale = x.mean(0), x.std(0)
    scale[scale < 1e-9] = 1.0
    xs = (x - mean) / scale
    seg = np.repeat(np.arange(len(stmts)), [len(s) for s in stmts])
    count = np.bincount(seg)

    def loss(w: np.ndarray) -> float:
        logp = -np.logaddexp(0.0, -(xs @ w[:-1] + w[-1]))  # log sigmoid
        q = np.clip(np.exp(np.bincount(seg, logp) / count), 1e-9, 1 - 1e-9)  # geometric mean per summary
        ce = -np.mean(target * np.log(q) + (1 - target) * np.log(1 - q))
        return float(ce + l2 * np.sum(w[:-1] ** 2))

    w = optimize.minimize(loss, np.zeros(x.shape[1] + 1), method="L-BFGS-B").x
    return {"mean": mean.tolist(), "scale": scale.tolist(), "coef": w[:-1].tolist(), "intercept": float(w[-1])}


def predict(spec: dict[str, Any], stmts: np.ndarray) -> float:
    z = ((stmts - np.array(spec["mean"])) / np.array(spec["scale"])) @ np.array(spec["coef"]) + spec["intercept"]
    return float(np.exp(np.mean(-np.logaddexp(0.0, -z))))


def rounded(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in d.items()}


def cv_predict(mats: list[np.ndarray], y: np.ndarray, groups: list[str], l2: float = L2,
               folds: int = FOLDS) -> np.ndarray:
    """Out-of-fold predictions of GroupKFold by article id."""
    pred = np.zeros(len(mats))
    for train, test in GroupKFold(n_splits=folds).split(mats, y, groups):
        spec = fit([mats[i] for i in train], y[train], l2)
        for i in test:
            pred[i] = predict(spec, mats[i])
    return pred


def criterion(pred: np.ndarray, y: np.ndarray, systems: list[str]) -> float:
    """What the inner folds maximise: partial Pearson + ROC AUC (the issue's two goals, equally weighted)."""
    c = correlations(pred.tolist(), y.tolist(), systems)
    return float(c["partial_pearson"] or 0.0) + float(c["roc_auc"] or 0.0)


def nested_cv(sets: dict[str, list[np.ndarray]], y: np.ndarray, groups: list[str], systems: list[str],
              l2s: tuple[float, ...] = MODEL_L2) -> tuple[np.ndarray, list[str]]:
    """Nested cross-validation: the outer GroupKFold's test folds are scored by a model whose feature set and L2
    were chosen by an inner GroupKFold on the outer training folds alone, so the choice does not leak into the
    reported figure. Returns the outer out-of-fold predictions and each outer fold's choice."""
    pred = np.zeros(len(y))
    choices = []
    for train, test in GroupKFold(n_splits=FOLDS).split(y, y, groups):
        sub_groups = [groups[i] for i in train]
        sub_systems = [systems[i] for i in train]
        best = max(
            ((name, l2) for name in sets for l2 in l2s),
            key=lambda c: criterion(
                cv_predict([sets[c[0]][i] for i in train], y[train], sub_groups, c[1], FOLDS - 1),
                y[train], sub_systems),
        )
        spec = fit([sets[best[0]][i] for i in train], y[train], best[1])
        for i in test:
            pred[i] = predict(spec, sets[best[0]][i])
        choices.append(f"{best[0]} L2={best[1]}")
    return pred, choices


def paired_bootstrap(a: np.ndarray, b: np.ndarray, y: np.ndarray, systems: list[str], groups: list[str],
                     metric: str, rounds: int = BOOTSTRAP, seed: int = 0) -> dict[str, float]:
    """``metric``(a) - ``metric``(b) with a 95% percentile interval, resampling whole articles (their summaries
    are not independent)."""
    rng = np.random.default_rng(seed)
    by_article: dict[str, list[int]] = {}
    for i, g in enumerate(groups):
        by_article.setdefault(g, []).append(i)
    articles = list(by_article)

    def diff(rows: list[int]) -> float:
        sys_ = [systems[i] for i in rows]
        ca = correlations(a[rows].tolist(), y[rows].tolist(), sys_)[metric]
        cb = correlations(b[rows].tolist(), y[rows].tolist(), sys_)[metric]
        return float(ca) - float(cb) if ca is not None and cb is not None else float("nan")

    point = diff(list(range(len(y))))
    draws = []
    for _ in range(rounds):
        pick = rng.integers(0, len(articles), len(articles))
        draws.append(diff([i for k in pick for i in by_article[articles[k]]]))
    d = np.array([x for x in draws if np.isfinite(x)])
    return {"diff": round(point, 4), "lo": round(float(np.percentile(d, 2.5)), 4),
            "hi": round(float(np.percentile(d, 97.5)), 4), "rounds": len(d)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", default=str(DATA / "articles.jsonl"))
    ap.add_argument("--judgements", default=str(DATA / "judgements.jsonl"))
    ap.add_argument("--out", default=str(ROOT / "summarizer" / "evals" / "faithfulness_model.json"))
    ap.add_argument("--lexical-only", action="store_true", help="skip the embedding mode (no torch needed)")
    ap.add_argument("--cv-out", default=None, help="write the out-of-fold scores here (JSONL: id, system, mode, score)")
    ap.add_argument("--reader", default=None, help="fit the model mode with this model's token probabilities")
    ap.add_argument("--signals-cache", default=None, help="the model mode's readings: read if there, else "
                    "computed and written (JSONL)")
    ap.add_argument("--no-question", action="store_true", help="read likelihoods only (no yes/no question)")
    args = ap.parse_args()

    items = load_frank(args.articles, args.judgements)
    y = np.array([j.factuality for j in items])
    systems = [j.system for j in items]
    groups = [j.id for j in items]
    pairs = [(j.article, j.summary) for j in items]
    if args.reader:
        fit_model_mode(args, items, y, systems, groups, pairs)
        return

    t0 = time.perf_counter()
    scorer = FaithfulnessScorer(embedder=None if args.lexical_only else "all-MiniLM-L6-v2")
    signals = scorer.signals_many(pairs)
    print(f"signals for {len(items)} pairs ({scorer.mode} mode) in {time.perf_counter() - t0:.1f}s", flush=True)
    if any(not s for _, s, _ in signals):
        raise SystemExit("a FRANK summary has no statements: cannot fit")

    modes = ["lexical"] if args.lexical_only else ["embedding", "lexical"]
    out_modes: dict[str, Any] = {}
    cv_rows: list[str] = []
    for mode in modes:
        names = FEATURES[mode]
        mats = [np.array([[s.values[n] for n in names] for s in sigs]) for _, sigs, _ in signals]
        cv_pred = cv_predict(mats, y, groups)
        cv_rows += [
            json.dumps({"id": j.id, "system": j.system, "mode": mode, "score": round(float(p), 6)})
            for j, p in zip(items, cv_pred, strict=True)
        ]
        spec = fit(mats, y)
        in_sample = [predict(spec, m) for m in mats]
        cv = correlations(cv_pred.tolist(), y.tolist(), systems)
        fitted = correlations(in_sample, y.tolist(), systems)
        print(f"[{mode}] CV: {rounded(cv)}\n[{mode}] in-sample: {rounded(fitted)}", flush=True)
        out_modes[mode] = {
            "features": names,
            **{k: [round(v, 6) for v in spec[k]] for k in ("mean", "scale", "coef")},
            "intercept": round(spec["intercept"], 6),
            "threshold": 0.5,
            "aggregate": "geometric_mean",
            "cv": rounded(cv),
            "in_sample": rounded(fitted),
        }

    if Path(args.out).exists():  # keep the modes not fitted here (embedding with --lexical-only; model)
        previous = json.loads(Path(args.out).read_text())
        out_modes = {**previous.get("modes", {}), **out_modes}
    model = {
        "description": "Offline faithfulness scorer: statement-level logistic models (one per mode; the default is "
        "'lexical'); a summary's value is the geometric mean of its statements' probabilities.",
        "default_mode": "lexical",
        "fitted": {
            "date": dt.date.today().isoformat(),
            "script": "scripts/fit_faithfulness.py",
            "data": "FRANK validation split (shared/data/frank: 149 articles, 671 judged summaries, "
            "CNN/DM and XSum, 9 systems)",
            "objective": "cross-entropy of the geometric mean of statement probabilities vs human factuality "
            f"(fractional), L2={L2} on standardised signals, L-BFGS-B",
            "cv": f"GroupKFold({FOLDS}) by article id; figures are pooled out-of-fold predictions",
        },
        "modes": out_modes,
    }
    Path(args.out).write_text(json.dumps(model, indent=2) + "\n")
    if args.cv_out:
        Path(args.cv_out).write_text("".join(r + "\n" for r in cv_rows))
        print(f"wrote {args.cv_out}")
    print(f"wrote {args.out}")


def model_signals(args: argparse.Namespace, pairs: list[tuple[str, str]]) -> tuple[list[list[dict[str, Any]]], float]:
    """Every statement's lexical signals and what the reader read (token log-probabilities with and without the
    article, the question's log-odds), from the cache when it holds this reader's and prompt's; the model signals
    are computed from the readings by :func:`faithfulness_lm.model_signals`, so a new one needs no new reading."""
    from summarizer.evals.faithfulness_lm import ModelReader, read_prompt

    header = {"reader": args.reader, "prompt": read_prompt().version, "pairs": len(pairs),
              "question": not args.no_question}
    cache = Path(args.signals_cache) if args.signals_cache else None
    if cache and cache.exists():
        lines = cache.read_text().splitlines()
        first = json.loads(lines[0])
        if {k: first.get(k) for k in header} == header:
            print(f"readings from {cache}", flush=True)
            return [json.loads(line) for line in lines[1:]], float(first["seconds"])
    t0 = time.perf_counter()
    scorer = FaithfulnessScorer(reader=ModelReader(args.reader, question=not args.no_question))
    scored = scorer.signals_many(pairs)
    seconds = time.perf_counter() - t0
    statements = sum(len(s) for _, s, _ in scored)
    print(f"read {len(pairs)} pairs, {statements} statements ({args.reader}) in {seconds:.0f}s: "
          f"{len(pairs) / seconds:.3f} summaries/s", flush=True)
    unread = [sig.unread for _, sigs, _ in scored for sig in sigs if sig.unread]
    if unread:
        raise SystemExit(f"{len(unread)} statements could not be read, e.g. {unread[0]}")
    rows = [[{**{k: sig.values[k] for k in LEXICAL}, "cond": sig.reading.cond, "base": sig.reading.base,
              "yes": sig.reading.yes} for sig in sigs] for _, sigs, _ in scored]
    if cache:
        cache.write_text("".join(json.dumps(r) + "\n" for r in [{**header, "seconds": round(seconds, 1)}, *rows]))
    return rows, seconds


def with_model_signals(stmt: dict[str, Any]) -> dict[str, float]:
    from summarizer.evals.faithfulness_lm import model_signals as compute

    return {**{k: stmt[k] for k in LEXICAL}, **compute(stmt["cond"], stmt["base"], stmt["yes"])}


def by_dataset(pred: np.ndarray, y: np.ndarray, systems: list[str], datasets: list[str]) -> dict[str, Any]:
    out = {"all": rounded(correlations(pred.tolist(), y.tolist(), systems))}
    for name in sorted(set(datasets)):
        rows = [i for i, d in enumerate(datasets) if d == name]
        out[name] = rounded(correlations(pred[rows].tolist(), y[rows].tolist(), [systems[i] for i in rows]))
    return out


def fit_model_mode(args: argparse.Namespace, items: list[Any], y: np.ndarray, systems: list[str],
                   groups: list[str], pairs: list[tuple[str, str]]) -> None:
    """The model mode: nested CV against the lexical mode's plain CV on the same folds, paired bootstrap CIs, then
    the shipped fit (feature set and L2 chosen by CV on all rows) written into the model file."""
    readings, seconds = model_signals(args, pairs)
    rows = [[with_model_signals(s) for s in stmts] for stmts in readings]
    candidates = {k: v for k, v in MODEL_CANDIDATES.items() if all(f in rows[0][0] for f in v)}
    datasets = [j.dataset or "" for j in items]
    sets = {name: [np.array([[s[n] for n in names] for s in stmts]) for stmts in rows]
            for name, names in candidates.items()}
    lexical = [np.array([[s[n] for n in LEXICAL] for s in stmts]) for stmts in rows]
    lex_pred = cv_predict(lexical, y, groups)
    model_pred, choices = nested_cv(sets, y, groups, systems)
    report: dict[str, Any] = {"lexical_cv": by_dataset(lex_pred, y, systems, datasets),
                              "model_nested_cv": by_dataset(model_pred, y, systems, datasets),
                              "outer_fold_choices": choices}
    tests: dict[str, Any] = {}
    for subset in ("all", "cnndm", "xsum"):
        keep = [i for i, d in enumerate(datasets) if subset in ("all", d)]
        for metric in ("partial_pearson", "roc_auc"):
            tests[f"{subset} {metric}"] = paired_bootstrap(
                model_pred[keep], lex_pred[keep], y[keep], [systems[i] for i in keep], [groups[i] for i in keep],
                metric)
    report["paired_bootstrap_model_minus_lexical"] = tests
    print(json.dumps(report, indent=1), flush=True)

    name, l2 = max(((n, penalty) for n in sets for penalty in MODEL_L2),
                   key=lambda c: criterion(cv_predict(sets[c[0]], y, groups, c[1]), y, systems))
    spec = fit(sets[name], y, l2)
    in_sample = [predict(spec, m) for m in sets[name]]
    model = json.loads(Path(args.out).read_text())
    key = "model" if args.reader == READER else f"model@{args.reader}"
    model["modes"][key] = {
        "features": MODEL_CANDIDATES[name],
        **{k: [round(v, 6) for v in spec[k]] for k in ("mean", "scale", "coef")},
        "intercept": round(spec["intercept"], 6),
        "threshold": 0.5,
        "aggregate": "geometric_mean",
        "reader": args.reader,
        "fitted": {"date": dt.date.today().isoformat(), "feature_set": name, "l2": l2,
                   "choice": "feature set and L2 by 5-fold GroupKFold CV on all rows (partial Pearson + ROC AUC)",
                   "signal_seconds": round(seconds, 1), "pairs": len(pairs)},
        "cv": report["model_nested_cv"]["all"],
        "cv_by_dataset": report["model_nested_cv"],
        "cv_protocol": "nested: outer GroupKFold(5) by article; feature set and L2 chosen in each outer training "
        "fold by an inner GroupKFold(4)",
        "paired_bootstrap_vs_lexical": tests,
        "in_sample": rounded(correlations(in_sample, y.tolist(), systems)),
    }
    Path(args.out).write_text(json.dumps(model, indent=2) + "\n")
    if args.cv_out:
        Path(args.cv_out).write_text("".join(
            json.dumps({"id": j.id, "system": j.system, "mode": mode, "score": round(float(p), 6)}) + "\n"
            for mode, preds in (("lexical", lex_pred), ("model", model_pred))
            for j, p in zip(items, preds, strict=True)))
    print(f"model mode ({key}): {name}, L2={l2}; wrote {args.out}")


if __name__ == "__main__":
    main()
