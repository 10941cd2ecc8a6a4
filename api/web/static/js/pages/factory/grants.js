// Factory page, "Data access": make a data-access grant (dpl-grant/1, docs/GRANTS.md) — a lender,
// some of the factory's own logs, an index range or a period, the record types and the data
// fields of each, an expiry — after a review saying what the lender will see; list the grants
// made (live, revoked, expired) and revoke one at once. The factory's access log (who read what)
// is factory/access_log.js.
import { api } from '../../api.js';
import { busy, clearError, focusOn, h, short, showError, table } from '../../dom.js';
import { fmtTime } from '../../format.js';
import { isAddress } from '../../verify/collateral.js';
import { refresh, state, streamOf } from './state.js';
import { grantRecords, grantState, grantTypes } from '../grants_common.js';

const $ = (id) => document.getElementById(id);
/** How many of a log's newest records are read to offer their data fields (one request each). */
const SAMPLED = 24;

/** lower-case address -> party name, of the lenders this factory knows (consents, pledges, grants). */
const lenders = new Map();
/** record type -> data field names seen in the sampled records of the chosen logs. */
const seenFields = new Map();

export const lenderName = (address) => lenders.get(String(address).toLowerCase());

/** The lender as typed: a known lender's name or an address; resolves to its address or throws. */
export function lenderAddress(typed) {
  if (isAddress(typed)) return typed;
  for (const [address, name] of lenders) if (name === typed) return address;
  const known = [...new Set(lenders.values())].join(', ');
  throw new Error(`${typed} is not a lender this page knows${known ? ` (known: ${known})` : ''}: type its address (0x and 40 hex digits)`);
}

/** Learns the lenders' names from the factory's consents and pledges; offers them in the lender field. */
export async function learnLenders() {
  const [consents, pledges] = await Promise.all([api('GET', '/v1/pledges/consents').catch(() => []),
    api('GET', '/v1/pledges').catch(() => [])]);
  for (const c of consents) if (c.lender_party && c.consent?.terms?.lender) lenders.set(c.consent.terms.lender.toLowerCase(), c.lender_party);
  for (const p of pledges) if (p.holder_party && p.holder) lenders.set(p.holder.toLowerCase(), p.holder_party);
  const names = [...new Set(lenders.values())].filter(Boolean).sort();
  for (const list of document.querySelectorAll('datalist.lenders')) list.replaceChildren(...names.map((name) => h('option', { value: name })));
}

/**
 * The type rows of a grant form in `box`: one per record type counted in the logs `logIds`
 * (activity), each with a checkbox and its fields, the fields seen in the newest records offered.
 * `prefix` names the controls' ids.
 */
export async function offerTypes(box, logIds, prefix = 'g-type') {
  if (!logIds.length) { box.replaceChildren(h('p', { class: 'muted' }, 'Choose a log to see its record types.')); return; }
  box.replaceChildren(h('p', { class: 'muted', role: 'status' }, 'Reading the record types of the chosen logs…'));
  const types = new Set();
  for (const logId of logIds) {
    const activity = await api('GET', `/v1/logs/${logId}/activity`).catch(() => null);
    for (const t of activity?.types || []) types.add(t);
    const size = state.logs.find((l) => l.log_id === logId)?.size || 0;
    const indices = Array.from({ length: Math.min(SAMPLED, size) }, (_, k) => size - 1 - k);
    const bundles = await Promise.all(indices.map((i) => api('GET', `/v1/logs/${logId}/records/${i}`).catch(() => null)));
    for (const b of bundles) {
      for (const e of b?.entries || []) {
        const r = e.record;
        if (!r || typeof r.data !== 'object' || r.data === null) continue;
        const set = seenFields.get(r.type) || new Set();
        Object.keys(r.data).forEach((k) => set.add(k));
        seenFields.set(r.type, set);
        types.add(r.type);
      }
    }
  }
  const rows = [...types].sort().map((type, k) => {
    const seen = [...(seenFields.get(type) || [])].sort();
    const id = `${prefix}-${k}`;
    return h('div', { class: 'row grant-type', 'data-type': type },
      h('div', {}, h('label', { class: 'check' }, h('input', { type: 'checkbox', id, value: type }), ' ', h('code', {}, type))),
      h('div', { class: 'stack' }, h('label', { for: `${id}-fields` }, `Fields of ${type}`),
        h('input', { id: `${id}-fields`, autocomplete: 'off', spellcheck: 'false', placeholder: seen.length ? seen.slice(0, 2).join(', ') : 'field, field or *',
          'aria-describedby': `${id}-seen` }),
        h('small', { id: `${id}-seen`, class: 'muted' }, seen.length ? `Seen in its newest records: ${seen.join(', ')}. * = every field.`
          : 'Data field names, separated by commas; * = every field.')));
  });
  box.replaceChildren(...(rows.length ? rows : [h('p', { class: 'muted' }, 'These logs hold no records yet.')]));
}

/**
 * The types and fields chosen in `box`'s type rows (offerTypes), or null after showing an error
 * next to what is missing (`legend`: where "choose a type" goes).
 */
export function typedTypes(box, legend) {
  const fail = (el, text) => { showError(el, new Error(text)); focusOn(el); return null; };
  const types = {};
  for (const row of box.querySelectorAll('.grant-type')) {
    const check = row.querySelector('input[type=checkbox]');
    const input = row.querySelector('input:not([type])');
    clearError(input);
    if (!check.checked) continue;
    const fields = input.value.split(',').map((x) => x.trim()).filter(Boolean);
    if (!fields.length) return fail(input, `name the fields of ${check.value} the lender may see, or * for every field`);
    types[check.value] = fields;
  }
  if (!Object.keys(types).length) return fail(legend, 'choose at least one record type');
  return types;
}

/** The grant as typed, checked here (an error next to its field), or null. */
function typedGrant() {
  const form = $('grant-form');
  form.querySelectorAll('[aria-invalid]').forEach(clearError);
  ['g-lender', 'g-logs-legend', 'g-from', 'g-to', 'g-since', 'g-until', 'g-types-legend', 'g-expires'].forEach((id) => clearError($(id)));
  const fail = (el, text) => { showError(el, new Error(text)); focusOn(el); return null; };
  let lender;
  try { lender = lenderAddress($('g-lender').value.trim()); } catch (e) { return fail($('g-lender'), e.message); }
  const logs = [...document.querySelectorAll('#g-logs input:checked')].map((el) => el.value);
  if (!logs.length) return fail($('g-logs-legend'), 'choose at least one of your logs');
  let records;
  if ($('g-by').value === 'index') {
    const int = (el) => (/^\d+$/.test(el.value.trim()) ? Number(el.value.trim()) : null);
    const from = int($('g-from')), to = int($('g-to'));
    if (from === null) return fail($('g-from'), 'the first record: a whole number from 0');
    if (to === null || to <= from) return fail($('g-to'), `the end of the range: a whole number above ${from}`);
    records = { from, to };
  } else {
    const since = $('g-since').value, until = $('g-until').value;
    if (!since) return fail($('g-since'), 'the first day of the period');
    if (!until || until <= since) return fail($('g-until'), 'the day after the period: later than its first day');
    records = { since: `${since}T00:00:00Z`, until: `${until}T00:00:00Z` };
  }
  const types = typedTypes($('g-types'), $('g-types-legend'));
  if (!types) return null;
  const expires = $('g-expires').value;
  if (!expires) return fail($('g-expires'), 'the day the grant ends');
  return { format: 'dpl-grant/1', lender, logs, records, types, expires: `${expires}T00:00:00Z` };
}

function wireGrantForm() {
  const form = $('grant-form'), trigger = $('g-grant'), review = $('g-review'), confirm = $('g-confirm');
  let pending = null;
  const close = () => { review.hidden = true; trigger.hidden = false; pending = null; };
  $('g-by').addEventListener('change', () => {
    const byIndex = $('g-by').value === 'index';
    $('g-range').hidden = !byIndex; $('g-period').hidden = byIndex;
  });
  $('g-logs').addEventListener('change', () => {
    close();
    const chosen = [...document.querySelectorAll('#g-logs input:checked')].map((el) => el.value);
    offerTypes($('g-types'), chosen).catch((e) => showError($('g-types-legend'), e));
  });
  form.addEventListener('input', (ev) => { if (ev.target.closest('#g-logs') === null) close(); });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const grant = typedGrant();
    if (!grant) return;
    pending = grant;
    const who = lenderName(grant.lender);
    const types = Object.entries(grant.types).map(([t, f]) => `${t} (${f.length === 1 && f[0] === '*' ? 'every field' : f.join(', ')})`);
    $('g-review-text').textContent = `Let ${who ? `${who} (${grant.lender})` : grant.lender} read ${grantRecords(grant.records)} of `
      + `${grant.logs.map(streamOf).join(', ')}: the records of type ${types.join('; ')} — their id, ts and type and only these `
      + `data fields — until ${grant.expires}. Every read is written to your access log; you can revoke the grant at any time.`;
    trigger.hidden = true; review.hidden = false; focusOn(confirm);
  });
  $('g-cancel').addEventListener('click', () => { close(); focusOn(trigger); });
  confirm.addEventListener('click', () => busy(confirm, async () => {
    const out = await api('POST', '/v1/grants', pending);
    close();
    $('g-result').replaceChildren(h('span', { class: 'notice', 'data-testid': 'granted' },
      `Grant #${out.id} made: ${lenderName(out.lender) || out.lender} may read ${grantRecords(out.grant.records)} until ${out.grant.expires}.`));
    await refresh($('grants'), renderGrants, 'Grants');
  }));
}

/** The grants this factory made, newest first, each live one with "Revoke…" → "Confirm revoke". */
export async function renderGrants(box = $('grants')) {
  const list = await api('GET', '/v1/grants');
  for (const g of list) if (!lenders.has(g.lender.toLowerCase())) lenders.set(g.lender.toLowerCase(), null);
  list.sort((a, b) => b.id - a.id);
  const rows = list.map((g) => {
    const cell = h('td', { class: 'action' });
    if (g.state === 'live') {
      const revoke = h('button', { type: 'button', class: 'secondary', id: `grant-revoke-${g.id}` }, 'Revoke…');
      const confirm = h('button', { type: 'button', class: 'danger', id: `grant-revoke-confirm-${g.id}`, hidden: true }, 'Confirm revoke');
      revoke.addEventListener('click', () => { revoke.hidden = true; confirm.hidden = false; focusOn(confirm); });
      confirm.addEventListener('click', () => busy(confirm, async () => {
        await api('POST', `/v1/grants/${g.id}/revoke`);
        await renderGrants(box);
        $('g-result').replaceChildren(h('span', { class: 'notice', 'data-testid': 'grant-revoked' },
          `Grant #${g.id} revoked: ${lenderName(g.lender) || g.lender}'s next read is refused.`));
      }));
      cell.append(revoke, confirm);
    }
    const name = lenderName(g.lender);
    return h('tr', { 'data-grant': g.id, 'data-state': g.state },
      h('td', {}, `#${g.id}`), h('td', {}, name ? [h('b', {}, name), ' '] : '', short(g.lender, 6)),
      h('td', {}, g.grant.logs.map((l) => h('div', {}, streamOf(l)))), h('td', {}, grantRecords(g.grant.records)),
      h('td', {}, grantTypes(g.grant.types)), h('td', {}, fmtTime(g.grant.expires)), h('td', {}, fmtTime(g.created_at)),
      h('td', { 'data-field': 'state' }, grantState(g)), cell);
  });
  box.replaceChildren(table(['#', 'Lender', 'Logs', 'Records', 'Types and fields', 'Expires', 'Made', 'State', ''], rows, { class: 'grants' }));
  return list;
}

/** The log choices and defaults, once the logs are read (index.js start). */
export function fillGrantForm() {
  const box = $('g-logs');
  const chosen = new Set([...box.querySelectorAll('input:checked')].map((el) => el.value));
  box.replaceChildren(h('legend', { id: 'g-logs-legend' }, 'Logs'),
    ...state.logs.filter((l) => l.log_id).map((l, k) => h('label', { class: 'check' },
      h('input', { type: 'checkbox', name: 'logs', value: l.log_id, id: `g-log-${k}`, checked: chosen.has(l.log_id) }),
      ` ${l.stream} (${l.size.toLocaleString('en')} records)`)));
  if (!state.logs.some((l) => l.log_id)) box.append(h('p', { class: 'muted' }, 'No anchored log yet: a grant names logs by their on-chain id.'));
  if (!$('g-expires').value) $('g-expires').value = new Date(Date.now() + 30 * 86400e3).toISOString().slice(0, 10);
  if (!$('g-from').value) $('g-from').value = '0';
  learnLenders().then(() => refresh($('grants'), renderGrants, 'Grants'));
}

export function wireGrants() {
  wireGrantForm();
}
