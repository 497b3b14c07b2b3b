"""Keep under Fortnox's rate limit: 25 requests per 5 seconds, sliding window, per connection. The
limiter itself is the shared :mod:`exporters.limiter`; its defaults (24 per 5 s) are Fortnox's."""

from exporters.limiter import WINDOW_SECONDS, LimiterRegistry, SlidingWindowLimiter

__all__ = ["WINDOW_SECONDS", "LimiterRegistry", "SlidingWindowLimiter"]
