"""`arxiv-qa mcp`: the library's ask, search and paper lookup as Model Context Protocol tools.

An MCP client (a desktop chat app, an IDE's agent) starts `arxiv-qa mcp` and talks to it over
stdio, or connects to `arxiv-qa mcp --http` (streamable HTTP on 127.0.0.1, the API token required
when ARXIV_QA_API_TOKEN is set). `ui.mcp.tools` adapts arguments and results; `ui.mcp.server`
wires them into the SDK's server and runs a transport.
"""

from __future__ import annotations

from ui.mcp.server import build, run

__all__ = ["build", "run"]
