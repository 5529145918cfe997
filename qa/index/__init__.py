"""The index: the catalog of papers, the vector store, the BM25 index, and retrieval over them.

`chroma` is the only module that talks to Chroma; `store.Store` is the read-only view answering
uses, `writer.Writer` the side ingest and repair write through; `catalog` is the SQLite catalog
(schema versioned, with migrations), `bm25` the lexical index (its on-disk segments in
`bm25_segments`), `retrieve` the hybrid search, `check` the health check and repair, `lock` the
one-writer lock (docs/ARCHITECTURE.md).
"""
