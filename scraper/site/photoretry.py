"""Photos that failed, tried again on a later run: a post that kept a photo's remote URL
gets its local copy once the photo is stored, in place and atomically, unless the post
was edited by hand (its text is not what this tool wrote) or changes meanwhile."""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import datetime

from ..models import Extractor, Status
from ..store.state import State
from .photos import Photos
from .postfiles import PostChanged, PostFiles

log = logging.getLogger(__name__)
_DATE = re.compile(r"^date: (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)$", re.M)


def retry_photos(state: State, files: PostFiles, photos: Photos, now: float, started: float) -> int:
    """Try again the failed photos that are due (and did not fail in this run, which
    started at ``started``), post by post; returns the posts updated."""
    updated = 0
    for aid in photos.index.due(now, before=started):
        row = state.article(aid)
        if row is None or row.status in (Status.SKIPPED, Status.FAILED):
            photos.index.settled(aid, everything=True)
            continue
        if row.status != Status.WRITTEN or not row.path:
            continue  # not written yet: its photos are mirrored when it is
        current = files.read(row.path)
        if current is None or row.sha is None or hashlib.sha256(current.encode("utf-8")).hexdigest() != row.sha:
            log.info("photos of %s: %s is gone or edited by hand; left alone", aid, row.path)
            photos.index.settled(aid, everything=True)
            continue
        m = _DATE.search(current)
        when = datetime.fromisoformat(m.group(1).replace("Z", "+00:00")) if m else datetime.fromtimestamp(now).astimezone()
        mirrored = photos.mirror(current, when, aid)
        if mirrored.body_html != current:
            try:
                files.rewrite(row.path, mirrored.body_html, was=current)
            except PostChanged as exc:
                log.info("photos of %s: %s", aid, exc)
                photos.index.settled(aid, everything=True)
                continue
            written = state.written(ids=[aid])
            extractor = written[0].extractor if written and written[0].extractor else Extractor.CNA
            state.record_refreshed(aid, sha=hashlib.sha256(mirrored.body_html.encode("utf-8")).hexdigest(), extractor=extractor, now=now)
            updated += 1
            log.info("photos of %s: %d stored on a later try; %s updated", aid, mirrored.stored, row.path)
        photos.index.settled(aid)
    return updated
