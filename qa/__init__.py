"""arxiv-qa: question answering over arXiv abstracts with citations you can check.

The library does the work (`qa.ingest`, `qa.store`, answering); the CLI, the Gradio app, Slack
and the HTTP API only adapt input and output.
"""
