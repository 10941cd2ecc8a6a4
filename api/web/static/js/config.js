// The page's configuration, as the server rendered it into <script id="dpl-config"> (base.html):
// party, role, address, csrf, chain id, registry, explorer, RPC URL. Read when first asked for,
// never at import, so every module stays importable by `node --test`.

let cached = null;

/** The page config (read once from `doc`, then kept). */
export function readConfig(doc = globalThis.document) {
  if (cached) return cached;
  const el = doc?.getElementById('dpl-config');
  cached = el ? JSON.parse(el.textContent) : {};
  return cached;
}

/** Forgets the kept config (for tests). */
export function resetConfig() {
  cached = null;
}
