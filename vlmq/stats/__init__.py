"""Statistics behind the verdicts: paired bootstrap intervals of retention, gate verdicts with
the sample size that decides them. numpy and scipy only (no torch: reports read these)."""
