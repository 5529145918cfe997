"""Answerers (extractive and LLM), their prompts, and citation checking."""
