"""Papers straight from arXiv: the API (`api.fetch`) and OAI-PMH (`oai.harvest`), through one polite client.

Each page arXiv answers is kept as a file in the store (`Target.download_dir`) and ingested like any
other file, so what a run fetched goes through the same incremental, crash-safe ingest: a page seen
before is skipped by its content hash, and a paper fetched again is merged, never embedded twice.
"""
