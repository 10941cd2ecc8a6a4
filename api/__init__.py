"""HTTP API (FastAPI) for factories, lenders and auditors.

Not built yet: it arrives with the service issue. Dependency direction: ``api`` imports
``ledger``; ``ledger`` never imports ``api`` (``tests/test_layers.py`` checks it).
"""
