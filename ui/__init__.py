"""Front-ends over the `qa` library: the CLI (`cli`), the web chat and HTTP API (`web`), Slack (`slack`)."""
