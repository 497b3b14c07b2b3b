"""The export pipeline: the state machine, one attempt, workers and their claims, the scheduler jobs."""
