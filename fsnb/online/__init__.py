"""The online store: contract (``base``), Redis / SQLite / remote implementations, key and row codecs, writes
and precomputed vectors. Nothing here is imported by ``import fsnb``; ``Store.online`` opens a store on first use.
"""
