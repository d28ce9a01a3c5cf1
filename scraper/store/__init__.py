"""What a run keeps between runs: the SQLite state, its schema, the figures it holds, the WARC archive."""
