"""The few exceptions the library raises. Front-ends translate them (CLI: one line and an exit code)."""


class QAError(Exception):
    """Base class: a failure the user can be told about in one line."""

    exit_code = 1


class BadInput(QAError):
    """The user's input cannot be used: a file, a question, an option. CLI exit status 2."""

    exit_code = 2


class UnrecognisedFormat(BadInput):
    """A file whose content matches none of the known layouts (or is empty, binary, undecodable)."""

    def __init__(self, path: str, why: str) -> None:
        super().__init__(f"{path}: {why}")
        self.path = path
        self.why = why


class StoreError(QAError):
    """The store cannot be opened, read or written (read-only, disk full, server down)."""


class LLMError(QAError):
    """The configured LLM endpoint failed after retries (down, timeout, bad key, broken stream)."""


class StoreBusy(StoreError):
    """Another process (or thread) is writing to the store and kept its write lock past the wait."""


class NotFound(BadInput):
    """A paper key (arXiv ID or doc: key) that names no paper in the store."""


class RemoteError(QAError):
    """arXiv (its API or OAI-PMH endpoint) could not be reached, or answered what cannot be read, after retries."""
