"""The feeds stage: feed bytes -> jobs, a run's feeds downloaded side by side, OPML lists, feeds.yaml edited with its comments."""
