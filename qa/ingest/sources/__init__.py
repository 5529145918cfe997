"""Input formats: one module per layout, each turning a file into an iterator of `Paper`.

The format of each file is detected from its content, never from its name. A file that is empty,
binary, undecodable or of no known layout raises `UnrecognisedFormat` naming the file.

Each format module offers ``sniff(head: str) -> bool`` (does this text start a file of mine?) and
``parse(path: Path, limits: Limits) -> Iterator[Paper]`` (stream the records; each Paper carries one
Source; a record or line over the `Limits` is skipped and noted there). The head a sniffer sees has
its byte order mark dropped and its line ends made ``\n``, as the parsers read lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from qa.errors import UnrecognisedFormat
from qa.ingest.sources import abstracts, atom, blocks, kaggle, oai, runtogether
from qa.limits import Limits
from qa.papers import Paper

# Order matters: the structured formats first, then the text layouts from most to least specific.
FORMATS: dict[str, ModuleType] = {
    "atom": atom,
    "oai": oai,
    "kaggle": kaggle,
    "runtogether": runtogether,
    "blocks": blocks,
    "abstracts": abstracts,
}
HEAD_BYTES = 64 * 1024


def read_head(path: Path) -> str:
    """The first bytes of a file as text, or `UnrecognisedFormat` for empty/binary/undecodable files."""
    try:
        with path.open("rb") as f:
            raw = f.read(HEAD_BYTES)
    except OSError as e:
        raise UnrecognisedFormat(str(path), f"cannot read ({e.strerror})") from None
    if not raw.strip():
        raise UnrecognisedFormat(str(path), "empty file")
    if b"\x00" in raw:
        raise UnrecognisedFormat(str(path), "binary file, not text")
    try:
        if len(raw) < HEAD_BYTES:
            return normalise_head(raw.decode("utf-8"))
        # A multi-byte character may be cut at the end of the head: forgive only that.
        return normalise_head(raw[:-4].decode("utf-8") + raw[-4:].decode("utf-8", "ignore"))
    except UnicodeDecodeError:
        raise UnrecognisedFormat(str(path), "not UTF-8 text") from None


def normalise_head(text: str) -> str:
    """`text` without a byte order mark, with Windows (CRLF) and old Mac (CR) line ends made ``\n``."""
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def detect_format(path: Path) -> str:
    """The name of the format of `path`, judged from its content."""
    head = read_head(path)
    for name, module in FORMATS.items():
        if module.sniff(head):
            return name
    raise UnrecognisedFormat(str(path), "unrecognised layout (expected arXiv abstracts: see README, 'Input formats')")


def read_papers(path: Path, limits: Limits | None = None) -> Iterator[Paper]:
    """Every record of `path` as a Paper, in file order, but those over `limits`. Raises `UnrecognisedFormat`."""
    module = FORMATS[detect_format(path)]
    limits = limits or Limits()
    try:
        for paper in module.parse(path, limits):
            where = f"{getattr(module, 'POSITION', 'record')} {paper.sources[0].position}"
            if not limits.abstract_too_long(path, where, len(paper.abstract)):
                yield paper
    except UnicodeDecodeError:
        raise UnrecognisedFormat(str(path), "not UTF-8 text") from None
