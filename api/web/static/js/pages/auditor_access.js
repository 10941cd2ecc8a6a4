// Auditor page, "Access logs": per factory, how many reads through its grants the service logged
// (the access log `dpl-access/<factory address>` is an ordinary log the auditor lists, its size the
// number of entries), and of those how many were refused (GET /v1/access-log?factory=, the newest
// page of up to 1,000 entries). Counts only: the entries stay on the service (`dpl access-log verify`
// proves them against the chain).
import { api, errorText } from '../api.js';
import { addressOf, h, table } from '../dom.js';
import { fmtTime } from '../format.js';

const $ = (id) => document.getElementById(id);
const PREFIX = 'dpl-access/';
/** The most entries one listing returns (the API's page). */
const PAGE = 1000;

/** One factory's counts: entries, reads, refused (of the newest page when there are more), the newest entry's time. */
async function countsOf(address, size) {
  const start = Math.max(0, size - PAGE);
  const page = await api('GET', `/v1/access-log?factory=${encodeURIComponent(address)}&start=${start}&limit=${PAGE}`);
  const refused = page.entries.filter((e) => e.outcome === 'refused').length;
  return { entries: page.size, read: page.entries.length - refused, refused, partial: page.size > page.entries.length,
    newest: page.entries.at(-1)?.ts ?? null };
}

/** Renders the counts of every access log among `logs` (GET /v1/logs) into #access-logs; `names`: address -> directory name. */
export async function renderAccessCounts(logs, names = new Map()) {
  const box = $('access-logs');
  if (!box) return;
  const access = logs.filter((l) => l.stream.startsWith(PREFIX));
  if (!access.length) {
    box.replaceChildren(h('p', { class: 'muted', 'data-testid': 'no-access-logs' }, 'No lender has read through a grant yet.'));
    return;
  }
  try {
    const rows = await Promise.all(access.map(async (l) => {
      const address = l.stream.slice(PREFIX.length);
      const c = await countsOf(address, l.size);
      const of = c.partial ? ` (of the newest ${c.read + c.refused})` : '';
      return h('tr', { 'data-testid': `access-counts-${address}` },
        h('td', {}, addressOf(address, { name: names.get(address.toLowerCase()), what: 'factory address' })),
        h('td', { 'data-field': 'entries' }, c.entries.toLocaleString('en')),
        h('td', { 'data-field': 'read' }, `${c.read.toLocaleString('en')}${of}`),
        h('td', { 'data-field': 'refused' }, `${c.refused.toLocaleString('en')}${of}`),
        h('td', {}, c.newest ? fmtTime(c.newest) : '—'));
    }));
    box.replaceChildren(table(['Factory', 'Entries', 'Reads', 'Refused', 'Newest'], rows, { class: 'access-counts' }));
  } catch (e) {
    box.replaceChildren(h('p', { class: 'error', role: 'alert' }, 'The access logs could not be read: ', errorText(e)));
  }
}
