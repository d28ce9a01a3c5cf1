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
VERSION = 3

# The waits stored as moments, which a clock set back would stretch (State.clamp_waits):
# (kind for schedule.wait_interval, table, key, count column, moment column, which rows).
WAITS = (
    ("article", "articles", "id", "attempts", "next_attempt", "status = 'pending'"),
    ("feed", "feeds", "url", "failures", "next_attempt", "1"),
    ("host", "hosts", "host", "0", "blocked_until", "1"),
)
