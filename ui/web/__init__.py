"""The Gradio chat and the HTTP API served beside it."""
