"""The one HTTP client that talks to arXiv: a pause between requests, retries with backoff, Retry-After.

arXiv asks for one request every 3 seconds (`Settings.arxiv_delay`) and answers an impatient client
429 or 503 with a Retry-After header; both are honoured. A request that still fails after
`Settings.arxiv_retries` retries raises `RemoteError` with one line saying why.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from xml.etree.ElementTree import Element, ParseError

import httpx
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from qa.errors import RemoteError
from qa.settings import Settings

log = logging.getLogger(__name__)
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_WAIT = 600.0  # the longest Retry-After honoured, in seconds; a server asking more is given up on
USER_AGENT = "arxiv-qa (https://pypi.org/project/arxiv-qa/)"


def xml_root(body: bytes, url: str, service: str, tag: str, name: str) -> Element:
    """The root element of a remote answer, which must be `tag`; `RemoteError` naming the `service` when the
    body is malformed XML (or XML that entities or DTDs would make hostile) or another document (not `name`)."""
    try:
        root: Element = fromstring(body)
    except (ParseError, DefusedXmlException) as e:
        raise RemoteError(f"{url}: {service} answered malformed XML ({str(e)[:120]})") from None
    if root.tag != tag:
        raise RemoteError(f"{url}: {service} answered <{root.tag}>, not {name}")
    return root


def retry_after(value: str | None) -> float | None:
    """Seconds a Retry-After header asks for (a number of seconds or an HTTP date), or None.

    >>> retry_after("7"), retry_after("soon")
    (7.0, None)
    """
    if not value or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class PoliteClient:
    """GET requests to arXiv, at most one every `delay` seconds, retried on 429/5xx and lost connections."""

    def __init__(self, settings: Settings, sleep: Callable[[float], None] = time.sleep) -> None:
        self.delay = settings.arxiv_delay
        self.retries = settings.arxiv_retries
        self.sleep = sleep
        self._last: float | None = None
        self._client = httpx.Client(timeout=settings.arxiv_timeout, follow_redirects=True,
                                    headers={"User-Agent": USER_AGENT})

    def close(self) -> None:
        self._client.close()

    def get(self, url: str, params: dict[str, str]) -> bytes:
        """The body of a 200 answer to GET `url` with `params`; `RemoteError` once the retries are spent."""
        for attempt in range(self.retries + 1):
            self._pause()
            wait, why = self._try(url, params)
            if isinstance(wait, bytes):
                return wait
            if attempt == self.retries:
                break
            pause = wait if wait is not None else max(self.delay, 1.0) * 2 ** attempt
            if pause > MAX_WAIT:
                raise RemoteError(f"{url}: {why}; the server asks to wait {pause:.0f} s, longer than {MAX_WAIT:.0f}")
            log.warning("%s: %s; retrying in %.0f s", url, why, pause)
            self.sleep(pause)
        raise RemoteError(f"{url}: {why} (gave up after {self.retries + 1} tries)")

    def _pause(self) -> None:
        """Wait until `delay` seconds have passed since the last request."""
        if self._last is not None:
            left = self.delay - (time.monotonic() - self._last)
            if left > 0:
                self.sleep(left)
        self._last = time.monotonic()

    def _try(self, url: str, params: dict[str, str]) -> tuple[bytes | float | None, str]:
        """One request: (the body, "") on success, else (seconds asked to wait or None, why it failed)."""
        try:
            response = self._client.get(url, params=params)
        except httpx.HTTPError as e:
            return None, f"request failed ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})"
        if response.status_code == 200:
            return response.content, ""
        why = f"HTTP {response.status_code}"
        if response.status_code not in RETRY_STATUS:
            raise RemoteError(f"{url}: {why} ({response.text.strip().splitlines()[0][:200] if response.text else ''})")
        return retry_after(response.headers.get("Retry-After")), why
