// Covenant warnings (docs/COVENANTS.md, GET /v1/pledges/{token}/warnings, GET /v1/warnings) as the
// pages show them: a badge per pledge (open warnings; acknowledged only; none) and a timeline per
// pledge, newest first. Each warning says, in words, which covenant it is about, the window of
// records [from, to) and the week, the checkpoint (size, root, anchoring transaction) it was judged
// at, the figure against its limit, the monitor's message, and its state: open → acknowledged (by
// the holder, when, who) → resolved (when, and by which window meeting the covenant again). The
// lender page and the factory page render with this one module (no surprises between the parties);
// what a party may do with a warning comes from the caller (`actions`): Acknowledge (lender),
// Disclose this window (factory), later Re-check. Text from the API is only ever a text node.
// The word helpers are pure and importable by `node --test`; the render functions touch the DOM
// only when called.
import { badge, h, short, txLink } from '../dom.js';
import { fmtTime } from '../format.js';
import { duration, fmtCount, percent } from './profile_report.js';

/** Each covenant code (docs/COVENANTS.md §3) as a lender names it. */
export const COVENANT_WORDS = {
  anchoring_cadence: 'Data stopped being anchored',
  output_floor: 'Output below the floor',
  stoppage: 'A machine stopped reporting',
  cross_source_mismatch: 'Machines and MES disagree',
  scrap_ceiling: 'Scrap above the ceiling',
  customer_concentration: 'One customer too large a share',
};

export const STATES = ['open', 'acknowledged', 'resolved'];

/** A covenant code in words; a code these words do not know yet, as it is. */
export function codeText(code) {
  return Object.hasOwn(COVENANT_WORDS, code) ? COVENANT_WORDS[code] : String(code);
}

/** "6.000000" → "6"; "240.500000" → "240.5" (exact: the API's decimal text, never a float). */
function trimmed(text) {
  return /^-?\d+\.\d+$/.test(String(text)) ? String(text).replace(/\.?0+$/, '') : String(text);
}

/** The machine a stoppage warning is about, from its key (`stoppage/MACHINE/START`); null for other codes. */
export function machineOf(w) {
  if (w?.code !== 'stoppage' || typeof w.key !== 'string') return null;
  const parts = w.key.split('/');
  return parts.length >= 3 ? parts.slice(1, -1).join('/') : null;
}

/** What the warning is about, in one line: the covenant and its week or machine. */
export function titleText(w) {
  const about = w.week ? `week ${w.week}` : machineOf(w) ? `machine ${machineOf(w)}` : null;
  return about ? `${codeText(w.code)} — ${about}` : codeText(w.code);
}

/**
 * The figure against its limit, in words, by code (value and threshold are the API's exact
 * texts): good units a day vs the floor; ratios as percentages; silences and ages as durations.
 */
export function figureText(w) {
  const { code, value, threshold } = w;
  switch (code) {
    case 'output_floor':
      return `${trimmed(value)} good units a day, below the floor of ${trimmed(threshold)} a day`;
    case 'cross_source_mismatch':
      return `a mismatch of ${percent(value)} between machines and MES, above the limit of ${percent(threshold)}`;
    case 'scrap_ceiling':
      return `a scrap rate of ${percent(value)}, above the ceiling of ${percent(threshold)}`;
    case 'customer_concentration':
      return `the largest customer's share ${percent(value)}, above the limit of ${percent(threshold)}`;
    case 'stoppage':
      return `silent for ${duration(value)}, longer than the limit of ${duration(threshold)}`;
    case 'anchoring_cadence':
      return `the newest anchored checkpoint is ${duration(value)} old, older than ${duration(threshold)}`;
    default:
      return `value ${value}, threshold ${threshold}`;
  }
}

/** The window of records in words: "records [467, 1284) (817 records)"; an empty one says nothing came. */
export function windowText(w) {
  const { from, to } = w.window || {};
  if (from === to) return `no record after checkpoint ${fmtCount(from)}`;
  return `records [${from}, ${to}) (${fmtCount(to - from)} records)`;
}

/** What resolved a warning, from its `evidence` (the window that met the covenant again), in words; null when the API says nothing. */
export function resolvedByText(w) {
  const e = w.evidence;
  if (!e) return null;
  const records = e.window && e.window.from !== e.window.to ? ` (records [${e.window.from}, ${e.window.to}))` : '';
  if (e.week) return `week ${e.week} met the covenant again${records}`;
  if (e.machine) return `machine ${e.machine} reported within the limit again${records}`;
  if (e.code === 'anchoring_cadence') return `a newer checkpoint was anchored in time${records}`;
  return `a later window met the covenant again${records}`;
}

/** Warnings counted by state (what the API's `counts` holds). */
export function countWarnings(warnings) {
  const out = { open: 0, acknowledged: 0, resolved: 0 };
  for (const w of warnings || []) if (Object.hasOwn(out, w.state)) out[w.state] += 1;
  return out;
}

/** The badge's words and kind for `counts`: open ones first; acknowledged only; none open. */
export function badgeOf(counts) {
  const c = { open: 0, acknowledged: 0, resolved: 0, ...(counts || {}) };
  const plural = (n, one) => `${n} ${one}${n === 1 ? '' : 's'}`;
  if (c.open) return { text: `${plural(c.open, 'open warning')}`, kind: 'warning-open' };
  if (c.acknowledged) return { text: `${c.acknowledged} acknowledged`, kind: 'warning-acknowledged' };
  if (c.resolved) return { text: `no open warning (${c.resolved} resolved)`, kind: 'warning-none' };
  return { text: 'no warnings', kind: 'warning-none' };
}

/** Is any of `warnings` still to be dealt with (open or acknowledged)? Their timeline starts unfolded. */
export function unresolved(warnings) {
  const c = countWarnings(warnings);
  return c.open + c.acknowledged > 0;
}

/** Counts as a line: "1 open · 0 acknowledged · 2 resolved". */
export function countsText(counts) {
  return STATES.map((s) => `${counts?.[s] ?? 0} ${s}`).join(' · ');
}

/** Newest first: the later window first (window.from, then to), then the later raised (id). */
export function newestFirst(warnings) {
  return [...(warnings || [])].sort((a, b) => (b.window?.from ?? 0) - (a.window?.from ?? 0)
    || (b.window?.to ?? 0) - (a.window?.to ?? 0) || (b.id ?? 0) - (a.id ?? 0));
}

// ------------------------------------------------------------------ DOM

/** The badge of a pledge's warnings (`data-testid` warnings-badge-TOKEN when `tokenId` is given). */
export function warningsBadge(counts, tokenId = null) {
  const { text, kind } = badgeOf(counts);
  const el = badge(text, kind);
  if (tokenId !== null) el.dataset.testid = `warnings-badge-${tokenId}`;
  return el;
}

/** The state history of one warning: raised, acknowledged, resolved, each with when. */
function history(w) {
  const steps = [h('li', {}, `Raised ${fmtTime(w.created_at)}`)];
  if (w.acknowledged_at) {
    steps.push(h('li', {}, `Acknowledged ${fmtTime(w.acknowledged_at)}`,
      w.acknowledged_by ? [' by ', short(w.acknowledged_by, 6)] : []));
  }
  if (w.resolved_at) {
    const by = resolvedByText(w);
    steps.push(h('li', {}, `Resolved ${fmtTime(w.resolved_at)}`, by ? `: ${by}` : ''));
  }
  return h('ol', { class: 'warning-history' }, steps);
}

/**
 * One warning as a timeline entry. `actions(w)` gives the controls the caller offers for it
 * (an array of nodes, or nothing): they sit in the entry's `.buttons` row.
 */
export function warningItem(w, { actions = null } = {}) {
  const cp = w.checkpoint || {};
  const controls = (actions ? actions(w) : null) || [];
  return h('li', { class: `warning ${w.state}`, 'data-testid': `warning-${w.id}`, 'data-warning': w.id, 'data-state': w.state },
    h('div', { class: 'warning-head' }, badge(w.state, `warning-${w.state}`), ' ', h('b', {}, titleText(w))),
    h('p', { class: 'warning-message' }, w.message),
    h('dl', { class: 'terms' },
      [['Figure', figureText(w)],
        ['Window', windowText(w)],
        ['Judged at', h('span', {}, `checkpoint ${fmtCount(cp.size)}, root `, short(cp.root, 6),
          cp.anchor_tx ? [' · tx ', txLink(cp.anchor_tx)] : [])],
      ].flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    history(w),
    controls.length ? h('div', { class: 'buttons' }, controls) : null);
}

/**
 * Renders a pledge's warnings into `container` as a timeline, newest first; "No warnings" when
 * there are none. `options.actions(w)`: the controls offered for a warning (see warningItem).
 * Returns the list element (or null when empty).
 */
export function renderWarnings(container, warnings, options = {}) {
  const sorted = newestFirst(warnings);
  if (!sorted.length) {
    container.replaceChildren(h('p', { class: 'muted' }, options.empty || 'No warnings: every covenant judged so far is met.'));
    return null;
  }
  const list = h('ol', { class: 'warnings' }, sorted.map((w) => warningItem(w, options)));
  container.replaceChildren(list);
  return list;
}
