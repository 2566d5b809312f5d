"""The diagnosis timeline of a run (RUN/diagnoses.jsonl) as a verdict line and a table."""
from __future__ import annotations

from steadygan.report.markup import esc, table
from steadygan.health.diagnosis import SEVERITIES, Diagnosis
from steadygan.report.summary import fmt


def verdict(diagnoses: list[Diagnosis] | None, last_step: float | None = None
            ) -> tuple[str, str]:
    """(css class, sentence): the worst severity decides, the first failure is named. As in
    `steadygan diagnose`, failures that ended before the run's last step (`last_step`) count as
    recovered."""
    if diagnoses is None:
        return "none", "no diagnoses recorded"
    counts = {s: sum(d.severity == s for d in diagnoses) for s in SEVERITIES}
    tally = ", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items() if n)
    if counts["failure"]:
        first = next(d for d in diagnoses if d.severity == "failure")
        where = f"{first.kind} at steps {first.step_start}-{first.step_end}: {first.message}"
        active = last_step is None or any(d.step_end >= last_step for d in diagnoses
                                          if d.severity == "failure")
        if not active:
            return "warning", f"verdict: recovered ({tally}); first failure: {where}"
        return "failure", f"verdict: failed ({tally}); first failure: {where}"
    if counts["warning"]:
        return "warning", f"verdict: trained, with problems to look at ({tally})"
    if diagnoses:
        return "healthy", f"verdict: healthy ({tally})"
    return "healthy", "verdict: healthy (the health checks found nothing)"


def _evidence(evidence: dict) -> str:
    return ", ".join(f"{k} = {fmt(v)}" for k, v in evidence.items())


def _remedies(remedies: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{esc(r)}</li>" for r in remedies) + "</ul>" if remedies else ""


def diagnoses_html(diagnoses: list[Diagnosis] | None, last_step: float | None = None,
                   ending: str | None = None) -> str:
    """The verdict, `ending` (how the run ended, e.g. still improving) and the table."""
    klass, sentence = verdict(diagnoses, last_step)
    out = f'<p class="verdict {klass}">{esc(sentence)}</p>'
    if ending:
        out += f"<p>{esc(ending)}</p>"
    if diagnoses:
        rows = [(f"{d.step_start}-{d.step_end}", esc(d.severity), esc(d.kind), esc(d.message),
                 esc(_evidence(d.evidence)), _remedies(d.remedies)) for d in diagnoses]
        out += table(("steps", "severity", "kind", "message", "evidence", "remedies"), rows,
                     row_classes=[d.severity if d.severity in SEVERITIES else ""
                                  for d in diagnoses],
                     raw=True, css_class="diagnoses")
    return out
