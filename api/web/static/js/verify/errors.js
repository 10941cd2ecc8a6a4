// The verifier's own error kinds (the Python names, so reasons read the same).

/** A bundle is malformed or does not verify (ledger.errors.BundleError). */
export class BundleError extends Error {}
