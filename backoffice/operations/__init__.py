"""Operating Dagskassa: the figures at /metrics (prometheus-client), the scheduler's heartbeat and job
runs, and ``dagskassa doctor``, which says per line what is fine and what to fix."""
