"""Content-Encoding decoded by hand, with a byte budget (pure): a gzip bomb is refused
after ``max_bytes``, never decompressed into memory; stacked encodings are refused."""

from __future__ import annotations

import zlib

from ..errors import FetchError


class Decoder:
    """Content-Encoding decoded by hand with a byte budget: each call returns at most what
    the budget leaves, so a bomb is refused after ``budget`` bytes, whatever it expands to."""

    def __init__(self, encoding: str | None, budget: int, url: str) -> None:
        codings = [c.strip().lower() for c in (encoding or "").split(",") if c.strip() and c.strip().lower() != "identity"]
        if len(codings) > 1:
            raise FetchError(url, f"stacked content encodings ({encoding}) refused")
        self.coding = codings[0] if codings else None
        if self.coding not in (None, "gzip", "x-gzip", "deflate"):
            raise FetchError(url, f"content encoding {self.coding!r} not supported")
        self.budget = budget
        self.url = url
        self.size = 0
        self._z = self._new() if self.coding else None
        self._raw_deflate_tried = False

    def _new(self, wbits: int | None = None) -> zlib._Decompress:
        if wbits is None:
            wbits = 16 + zlib.MAX_WBITS if self.coding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        return zlib.decompressobj(wbits)

    def _count(self, data: bytes) -> bytes:
        self.size += len(data)
        if self.size > self.budget:
            raise FetchError(self.url, f"body over the {self.budget}-byte cap (decoded)")
        return data

    def feed(self, chunk: bytes) -> bytes:
        if self._z is None:
            return self._count(chunk)
        out = []
        data = chunk
        while data:
            try:
                piece = self._z.decompress(data, self.budget - self.size + 1)
            except zlib.error as exc:
                if self.coding == "deflate" and not self._raw_deflate_tried and self.size == 0:
                    self._raw_deflate_tried = True  # servers send raw deflate as often as zlib's
                    self._z = self._new(-zlib.MAX_WBITS)
                    continue
                raise FetchError(self.url, f"body does not decode as {self.coding} ({exc})") from exc
            out.append(self._count(piece))
            data = self._z.unconsumed_tail
            if self._z.eof and self._z.unused_data:
                data = self._z.unused_data  # another gzip member follows
                self._z = self._new()
        return b"".join(out)

    def flush(self) -> bytes:
        return self._count(self._z.flush()) if self._z is not None else b""
