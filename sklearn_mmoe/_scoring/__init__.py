"""Scoring fitted models: per-task scores, ranking metrics, and the comparison
of joint with separate training."""
