"""The state database's schema, version by version (``PRAGMA user_version``).

A new version appends its statements here and ``state.State._migrate`` applies every
version a file lacks, in order, in one transaction: old files are migrated in place,
never discarded.
"""

from __future__ import annotations

# Version 1: the schema of scraper 0.1 (files written before user_version).
V1 = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY, url TEXT NOT NULL, status TEXT NOT NULL, reason TEXT,
    attempts INTEGER NOT NULL DEFAULT 0, next_attempt REAL NOT NULL DEFAULT 0, published TEXT,
    path TEXT, canonical TEXT, source TEXT, first_seen REAL NOT NULL, changed REAL NOT NULL,
    site TEXT, author TEXT, title TEXT, content TEXT, guid TEXT
);
CREATE INDEX IF NOT EXISTS articles_due ON articles (status, next_attempt);
CREATE TABLE IF NOT EXISTS feeds (
    url TEXT PRIMARY KEY, etag TEXT, last_modified TEXT, failures INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL DEFAULT 0, last_error TEXT, last_ok REAL, redirect TEXT,
    redirect_seen INTEGER NOT NULL DEFAULT 0, gone INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS hosts (host TEXT PRIMARY KEY, blocked_until REAL NOT NULL);
CREATE TABLE IF NOT EXISTS days (day TEXT PRIMARY KEY, finished REAL, last_serial INTEGER NOT NULL DEFAULT 0);
"""
V1_LATE_COLUMNS = ("site", "author", "title", "content", "guid")  # added to 0.1 files in place
# Version 2: a host pause that never ends is counted; the text of a post is remembered
# (a hand-edited post is told from ours); 0.1's reindex kept the id in the url column.
V2 = """
ALTER TABLE articles ADD COLUMN deferred_since REAL;
ALTER TABLE articles ADD COLUMN sha TEXT;
ALTER TABLE articles ADD COLUMN extractor TEXT;
UPDATE articles SET url = 'https://www.cna.com.tw/news/aall/' || id || '.aspx'
    WHERE source = 'reindex' AND url = id AND length(id) = 12 AND id NOT GLOB '*[^0-9]*';
"""
# Version 3: when a lasting notice (CNA's layout changed) was last said, so cron hears it
# once a day rather than every run.
V3 = """
CREATE TABLE IF NOT EXISTS notices (name TEXT PRIMARY KEY, said REAL NOT NULL);
"""
# Version 4: totals across runs (the metrics' counters only grow), by name and label
# (the host of a per-host figure, else '').
V4 = """
CREATE TABLE IF NOT EXISTS totals (name TEXT NOT NULL, label TEXT NOT NULL DEFAULT '', value REAL NOT NULL, PRIMARY KEY (name, label));
CREATE INDEX IF NOT EXISTS articles_source ON articles (source, status);
"""
VERSION = 4
# The photo mirror's index, created where missing by ``photoindex`` (on its own
# connection, from the fetch threads): which file holds a URL's photo and which file
# holds given bytes (one file per content), photos that failed and when to try them
# again, and the posts that wait for them.
PHOTOS = """
CREATE TABLE IF NOT EXISTS photos (
    url_key TEXT PRIMARY KEY, url TEXT NOT NULL, path TEXT, status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_attempt REAL NOT NULL DEFAULT 0, reason TEXT, changed REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS photos_due ON photos (status, next_attempt);
CREATE TABLE IF NOT EXISTS photo_files (sha TEXT PRIMARY KEY, path TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS photo_waits (url_key TEXT NOT NULL, article_id TEXT NOT NULL, PRIMARY KEY (url_key, article_id));
"""

# The waits stored as moments, which a clock set back would stretch (State.clamp_waits):
# (kind for schedule.wait_interval, table, key, count column, moment column, which rows).
WAITS = (
    ("article", "articles", "id", "attempts", "next_attempt", "status = 'pending'"),
    ("feed", "feeds", "url", "failures", "next_attempt", "1"),
    ("host", "hosts", "host", "0", "blocked_until", "1"),
)
