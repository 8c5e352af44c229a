"""Fit the offline faithfulness scorer's coefficients on FRANK and write summarizer/evals/faithfulness_model.json.

    python scripts/fit_faithfulness.py [--articles A] [--judgements J] [--out PATH] [--lexical-only]

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

from summarizer.evals.faithfulness import FaithfulnessScorer  # noqa: E402
from summarizer.evals.meta import correlations, load_frank  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "frank"
LEXICAL = ["content_in_best", "fragment_density", "fragments", "numbers_absent", "pair_cooccur_all", "lcs_best"]
FEATURES = {"lexical": LEXICAL, "embedding": [*LEXICAL, "embed_best"]}
L2 = 1e-2
FOLDS = 5


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", default=str(DATA / "articles.jsonl"))
    ap.add_argument("--judgements", default=str(DATA / "judgements.jsonl"))
    ap.add_argument("--out", default=str(ROOT / "summarizer" / "evals" / "faithfulness_model.json"))
    ap.add_argument("--lexical-only", action="store_true", help="skip the embedding mode (no torch needed)")
    ap.add_argument("--cv-out", default=None, help="write the out-of-fold scores here (JSONL: id, system, mode, score)")
    args = ap.parse_args()

    items = load_frank(args.articles, args.judgements)
    y = np.array([j.factuality for j in items])
    systems = [j.system for j in items]
    groups = [j.id for j in items]
    pairs = [(j.article, j.summary) for j in items]

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
        cv_pred = np.zeros(len(items))
        for train, test in GroupKFold(n_splits=FOLDS).split(mats, y, groups):
            spec = fit([mats[i] for i in train], y[train])
            for i in test:
                cv_pred[i] = predict(spec, mats[i])
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

    if args.lexical_only and Path(args.out).exists():  # keep the embedding mode already there
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


if __name__ == "__main__":
    main()
