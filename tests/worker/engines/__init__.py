"""Tiny engines, one per worker behaviour (as cog's test predictors): each module is a
REELFORGE_ENGINE target, `tests.worker.engines.<module>:<factory>`."""
