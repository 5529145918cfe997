"""Real local HTTP servers standing in for remote APIs (OpenAI, Slack) in tests."""
