// A data-access grant (dpl-grant/1, docs/GRANTS.md) in words, shared by the factory's grants and
// applications and the lender's inbox.
import { badge, h } from '../dom.js';
import { fmtTime } from '../format.js';

/** A grant's state as a badge: live, revoked (when) or expired. */
export function grantState(g) {
  if (g.state === 'revoked') return badge(g.revoked_at ? `revoked ${fmtTime(g.revoked_at)}` : 'revoked', 'lapsed');
  if (g.state === 'expired') return badge('expired', 'lapsed');
  return badge('live', 'live');
}

/** A grant's records in words: an index range or a period. */
export function grantRecords(records) {
  return 'from' in records ? `records [${records.from}, ${records.to})` : `records with ts in [${records.since}, ${records.until})`;
}

/** A grant's types and fields in words, one line per type: "mes.work_order: product, qty_good". */
export function grantTypes(types) {
  return Object.entries(types).map(([type, fields]) => h('div', { 'data-type': type },
    h('code', {}, type), ': ', fields.length === 1 && fields[0] === '*' ? h('b', {}, 'every field') : fields.join(', ')));
}
