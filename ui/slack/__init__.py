"""Slack front-end: the bot (`bot`) and how answers are rendered in Slack (`format`)."""
