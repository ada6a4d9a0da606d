"""Measurement trackers: latency, peak memory, model footprint, energy and machine facts.

Each lives in its own module and imports torch only inside its functions, so that
importing a tracker is cheap and code that only reads results stays torch-free.
"""
