"""Per-connection limits of SPEC §5 that every WebSocket consumer applies."""

import time


class TokenBucket:
    """`rate` tokens a second up to `burst`; each frame takes one."""

    def __init__(self, rate, burst, clock=time.monotonic):
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens, self.updated = float(burst), clock()

    def take(self):
        """True when a frame may pass now."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False
