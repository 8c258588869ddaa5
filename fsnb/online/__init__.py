"""The online byte stores: the contract and capability mixins (``base``), the backend table (``_backends``), Redis
and SQLite, their config classes (``configs``), key and row codecs, writes and precomputed vectors. Nothing here is
imported by ``import fsnb``; ``Store.online`` opens a store on first use.
"""
