"""Chunking: a paper's abstract cut into pieces that fit the embedding model's 256-token window.

LlamaIndex's `SentenceSplitter` does the cutting, counting tokens with the embedding model's own
tokenizer, so the limit holds in the unit the model truncates by. Its sentences are ours
(`qa.papers.sentence_pieces`, the rule the extractive answerer quotes by) rather than NLTK's Punkt,
its default: on the bundled corpus and on generated abstracts the chunks are the same, Punkt costs a
third of the chunking time, and loading NLTK another second and a half.

The splitter counts the tokens of the whole text, then of every sentence (and of every phrase of a
sentence too long), one tokenizer call each: a dozen calls per abstract, the largest cost of ingest
outside the model. With a BERT-style tokenizer (the bundled model's) the count of a piece cut at
word boundaries is the number of the whole text's tokens inside it, so `Chunker` tokenizes each
abstract once and reads the counts of its pieces off the token offsets. A piece that cuts a word
(only possible when a single word outgrows the window) is tokenized on its own, as before. The
chunks are exactly those of the plain splitter; tests compare the two.
"""

from __future__ import annotations

import hashlib
import threading
from bisect import bisect_left
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.ingest.embed import Tokenizer
from qa.papers import Chunk, Paper, chunk_id, id_month, sentence_pieces

if TYPE_CHECKING:
    from tokenizers import Encoding
    from tokenizers import Tokenizer as HFTokenizer


class _Offsets:
    """Token counts of the pieces of one text, read off one tokenization of the whole text."""

    def __init__(self, text: str, encoding: Encoding) -> None:
        self.text = text
        self.starts = [start for start, _ in encoding.offsets]
        self.ends = [end for _, end in encoding.offsets]
        self.words = encoding.word_ids
        self.cursor = 0  # the splitter asks for pieces left to right: no piece starts before the last one

    def count(self, piece: str) -> int | None:
        """The tokens of `piece` on its own, or None when it cannot be read off the whole text."""
        at = self.text.find(piece, self.cursor)
        if at < 0:
            return None
        self.cursor = at  # an earlier copy of the same text is as good: equal text, equal count
        first, end = bisect_left(self.starts, at), bisect_left(self.starts, at + len(piece))
        if not (self._clean_cut(first, at) and self._clean_cut(end, at + len(piece))):
            return None
        return end - first

    def _clean_cut(self, token: int, at: int) -> bool:
        """True when position `at` (just before `token`) splits no token and no word into word pieces."""
        if token == 0:
            return True
        if self.ends[token - 1] > at:
            return False
        return token == len(self.starts) or self.words[token - 1] != self.words[token]


def _context_free(fast: HFTokenizer) -> bool:
    """Whether a piece cut at word boundaries tokenizes as it does inside the whole text.

    True of BERT's normaliser and pre-tokeniser (per-character normalising, words split at spaces and
    punctuation, word pieces within a word). Byte-level BPE or SentencePiece mark the space before a
    word in its tokens, so a piece's first word would count differently: those get the plain counts.
    """
    import json

    spec = json.loads(fast.to_str())
    normalizer, pre = spec.get("normalizer") or {}, spec.get("pre_tokenizer") or {}
    return (
        normalizer.get("type") in (None, "BertNormalizer")
        and pre.get("type") == "BertPreTokenizer"
        and (spec.get("model") or {}).get("type") == "WordPiece"
    )


class _CountingTokenizer:
    """The splitter's tokenizer: the length it takes of the result is all it uses."""

    def __init__(self, count: Tokenizer, fast: HFTokenizer | None) -> None:
        self.count = count
        self.fast = fast if fast is not None and _context_free(fast) else None
        self.offsets: _Offsets | None = None

    def prepare(self, text: str) -> None:
        """Tokenize `text` once, for the counts of its pieces (until the next call)."""
        if self.fast is not None:
            offsets = _Offsets(text, self.fast.encode(text, add_special_tokens=False))
            self.offsets = offsets if offsets.starts == sorted(offsets.starts) else None  # bisect needs order

    def __call__(self, piece: str) -> Sequence[Any]:
        n = self.offsets.count(piece) if self.offsets is not None else None
        return range(n) if n is not None else self.count(piece)


class Chunker:
    """Cuts papers into `Chunk`s of at most `max_tokens` model tokens."""

    def __init__(self, tokenizer: Tokenizer, max_tokens: int, overlap: int,
                 fast: HFTokenizer | None = None) -> None:
        """`tokenizer` counts tokens; `fast`, the same model's `tokenizers` tokenizer, makes counting cheaper."""
        from llama_index.core.node_parser import SentenceSplitter  # loaded only to ingest

        self._counter = _CountingTokenizer(tokenizer, fast)
        self._lock = threading.Lock()  # the counter holds the text being split
        self.splitter = SentenceSplitter(
            chunk_size=max_tokens, chunk_overlap=min(overlap, max_tokens // 4), tokenizer=self._counter,
            chunking_tokenizer_fn=sentence_pieces,
        )

    def split(self, text: str) -> list[str]:
        """The chunk texts of `text`."""
        with self._lock:
            self._counter.prepare(text)
            try:
                return self.splitter.split_text(text)
            finally:
                self._counter.offsets = None

    def chunks(self, paper: Paper) -> list[Chunk]:
        """The chunks of one paper, with stable IDs derived from the key and the text."""
        key = paper.doc_key
        source = Path(paper.sources[0].file).name if paper.sources else ""
        created = paper.created or id_month(paper.arxiv_id)
        out = []
        for i, text in enumerate(self.split(paper.abstract)):
            digest = hashlib.sha1(text.encode()).hexdigest()[:10]
            out.append(Chunk(chunk_id(key, i, digest), key, text, paper.arxiv_id, created, paper.title, source, i))
        return out


def signature(chunks: list[Chunk]) -> str:
    """``<texts>:<metadata>`` digests of a paper's chunks: equal texts mean nothing to re-embed."""
    texts, meta = hashlib.sha1(), hashlib.sha1()
    for c in chunks:
        texts.update(repr((c.chunk_id, c.text)).encode())
        meta.update(repr(sorted(c.metadata().items())).encode())
    return f"{texts.hexdigest()[:16]}:{meta.hexdigest()[:16]}"
