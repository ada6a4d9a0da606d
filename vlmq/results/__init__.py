"""Per-sample records, run folders, summaries. Never imports torch."""
