// verify/tiles.js over real HTTP (tests/integration/test_tiles.py): `node tiles_http.mjs URL VKEY BUNDLE`
// prints the checks tilesChecks makes of the bundle against the tiles served at URL (its own fetch).
import { readFileSync } from 'node:fs';
import { tilesChecks } from '../../api/web/static/js/verify/tiles.js';
import { parseJson } from '../../api/web/static/js/verify/index.js';

const [url, vkey, bundle] = process.argv.slice(2);
const checks = await tilesChecks(parseJson(readFileSync(bundle)), url, { vkey: vkey || null });
process.stdout.write(JSON.stringify(checks));
