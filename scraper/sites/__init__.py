"""Per-site extractors: page bytes -> Article. Each site's markup lives in its own module."""
