"""``compare``: two runs' cases paired by id; per-scorer mean difference (B − A) with a paired bootstrap CI, and the
cases that got worse (by each scorer's direction: lower for ↑ scorers, higher for ↓ ones)."""

from __future__ import annotations

from pydantic import BaseModel

from .results import Report
from .scorers.base import Direction
from .stats import DEFAULT_RESAMPLES, Estimate, paired_difference
from .suite import SuiteError

#: Differences smaller than this are not "worse".
TOLERANCE = 1e-9


class ScorerDelta(BaseModel):
    system_a: str
    system_b: str
    scorer: str
    better: Direction
    n_pairs: int
    mean_a: float | None
    mean_b: float | None
    diff: Estimate

    @property
    def verdict(self) -> str:
        e = self.diff
        if e.mean is None or e.ci_low is None or e.ci_high is None or self.better == "none":
            return ""
        if e.ci_low > 0 or e.ci_high < 0:
            up = e.mean > 0
            return "better" if up == (self.better == "higher") else "worse"
        return "no clear change"


class Worse(BaseModel):
    case_id: str
    scorer: str
    system_a: str
    system_b: str
    a: float
    b: float
    explanation_b: str


class Comparison(BaseModel):
    a: str
    b: str
    pairs: list[tuple[str, str]]
    deltas: list[ScorerDelta]
    worse: list[Worse]
    cases_only_in_a: list[str]
    cases_only_in_b: list[str]
    dataset_changed: bool

    def to_markdown(self, worst: int = 10) -> str:
        lines = [f"A: {self.a}", f"B: {self.b}", ""]
        if self.dataset_changed:
            lines += ["Note: the two runs' datasets differ (sha256); only cases present in both are paired.", ""]
        lines += ["| system (A → B) | scorer | pairs | mean A | mean B | B − A [95% CI] | verdict |",
                  "|---|---|--:|--:|--:|--:|---|"]
        for d in self.deltas:
            pair = d.system_a if d.system_a == d.system_b else f"{d.system_a} → {d.system_b}"
            lines.append(f"| {pair} | {d.scorer} | {d.n_pairs} | {_f(d.mean_a)} | {_f(d.mean_b)} | "
                         f"{_signed(d.diff)} | {d.verdict} |")
        if self.worse:
            lines += ["", f"Cases that got worse (up to {worst} per scorer):", ""]
            shown: dict[str, int] = {}
            for w in self.worse:
                shown[w.scorer] = shown.get(w.scorer, 0) + 1
                if shown[w.scorer] <= worst:
                    lines.append(f"- {w.scorer} · {w.system_b} · {w.case_id}: {_f(w.a)} → {_f(w.b)} "
                                 f"({w.explanation_b})")
        else:
            lines += ["", "No case got worse."]
        if self.cases_only_in_a or self.cases_only_in_b:
            lines += ["", f"Unpaired: {len(self.cases_only_in_a)} case(s) only in A, "
                          f"{len(self.cases_only_in_b)} only in B."]
        return "\n".join(lines)


def _f(v: float | None) -> str:
    return "–" if v is None else (f"{v:,.1f}" if abs(v) >= 100 else f"{v:.3f}")


def _signed(e: Estimate) -> str:
    if e.mean is None or e.ci_low is None or e.ci_high is None:
        return "–"
    return f"{e.mean:+.3f} [{e.ci_low:+.3f}, {e.ci_high:+.3f}]"


def _pairs(a: Report, b: Report, system_a: str | None, system_b: str | None) -> list[tuple[str, str]]:
    if system_a or system_b:
        sa = system_a or system_b
        sb = system_b or system_a
        assert sa is not None and sb is not None
        for name, report, label in ((sa, a, "A"), (sb, b, "B")):
            if name not in report.spec.systems:
                raise SuiteError(f"run {label} has no system {name!r} (it has {', '.join(report.spec.systems)})")
        return [(sa, sb)]
    common = [s for s in a.spec.systems if s in b.spec.systems]
    if common:
        return [(s, s) for s in common]
    if len(a.spec.systems) == 1 and len(b.spec.systems) == 1:
        return [(a.spec.systems[0], b.spec.systems[0])]
    raise SuiteError("the runs have no system in common; choose one of each with --system-a and --system-b")


def compare_reports(a: Report, b: Report, *, label_a: str = "A", label_b: str = "B", system_a: str | None = None,
                    system_b: str | None = None, resamples: int = DEFAULT_RESAMPLES) -> Comparison:
    """Pair B's cases with A's by case id (and system); ``B − A`` per scorer both runs have."""
    pairs = _pairs(a, b, system_a, system_b)
    ids_a = {c.id for c in a.cases}
    ids_b = {c.id for c in b.cases}
    directions = {s.name: s.better for s in a.spec.scorers}
    scorers = [s.name for s in b.spec.scorers if s.name in directions]
    deltas: list[ScorerDelta] = []
    worse: list[Worse] = []
    for sa, sb in pairs:
        by_id_a = {r.case_id: r for r in a.results if r.system == sa}
        by_id_b = {r.case_id: r for r in b.results if r.system == sb}
        ids = [i for i in by_id_a if i in by_id_b]
        for scorer in scorers:
            better = directions[scorer]
            xs: list[float] = []
            ys: list[float] = []
            for case_id in ids:
                sa_score = by_id_a[case_id].scores.get(scorer)
                sb_score = by_id_b[case_id].scores.get(scorer)
                if sa_score is None or sb_score is None or sa_score.value is None or sb_score.value is None:
                    continue
                xs.append(sa_score.value)
                ys.append(sb_score.value)
                drop = sa_score.value - sb_score.value if better == "higher" else sb_score.value - sa_score.value
                if better != "none" and drop > TOLERANCE:
                    worse.append(Worse(case_id=case_id, scorer=scorer, system_a=sa, system_b=sb, a=sa_score.value,
                                       b=sb_score.value, explanation_b=sb_score.explanation))
            deltas.append(ScorerDelta(
                system_a=sa, system_b=sb, scorer=scorer, better=better, n_pairs=len(xs),
                mean_a=sum(xs) / len(xs) if xs else None, mean_b=sum(ys) / len(ys) if ys else None,
                diff=paired_difference(xs, ys, resamples=resamples)))
    worse.sort(key=lambda w: (scorers.index(w.scorer), -abs(w.b - w.a)))
    return Comparison(a=label_a, b=label_b, pairs=pairs, deltas=deltas, worse=worse,
                      cases_only_in_a=sorted(ids_a - ids_b), cases_only_in_b=sorted(ids_b - ids_a),
                      dataset_changed=a.spec.dataset_sha256 != b.spec.dataset_sha256)
