"""Test suite of arxiv-qa."""
