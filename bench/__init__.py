"""`make bench`: the scraper measured beside its baselines, in one run."""
