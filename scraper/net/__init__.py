"""The network: the HTTP client, the address guard, per-host limits, decoding, robots.txt and every URL rule."""
