"""Quality metrics: scored per sample, aggregated over the corpus."""
