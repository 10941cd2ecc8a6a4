"""The chain adapter: the registry contract's build outputs, and (later) the web3 client,
EIP-712 signing and anchoring.

``ledger.chain.build`` compiles ``contracts/`` and reads the committed build outputs in
``ledger/chain/artifacts/`` (``load_artifact``), so the service runs without a compiler.
Nothing here imports the log store: storage and chain never import each other.
"""
