"""Evaluation: the gold questions asked of the engine, scored, gated and reported (eval/README.md)."""
