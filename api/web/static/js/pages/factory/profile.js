// The factory's production profile: preview the profile of a range (POST /v1/logs/{id}/profile,
// shown as the report a lender will read), disclose the range in full to a lender (after a review
// that says what leaves the service), and the disclosures made, each revocable.
import { api } from '../../api.js';
import { busy, clearError, focusOn, h, showError, table, badge } from '../../dom.js';
import { fmtTime } from '../../format.js';
import { profileReport } from '../profile_report.js';
import { party, refresh, state, streamOf } from './state.js';

const $ = (id) => document.getElementById(id);

/** The range and offset as typed, checked here (an error next to its field), or null. */
function range() {
  const controls = { log: $('p-log'), from: $('p-from'), to: $('p-to'), tz: $('p-tz') };
  Object.values(controls).forEach(clearError);
  const int = (el) => (/^\d+$/.test(el.value.trim()) ? Number(el.value.trim()) : null);
  const from = int(controls.from), to = int(controls.to), tz = controls.tz.value.trim() || '+00:00';
  const fail = (el, text) => { showError(el, new Error(text)); focusOn(el); return null; };
  if (!controls.log.value) return fail(controls.log, 'choose a log (create one under "Add records")');
  if (from === null) return fail(controls.from, 'the first record: a whole number from 0');
  if (to === null || to <= from) return fail(controls.to, `the end of the range: a whole number above ${from}`);
  if (!/^[+-]\d{2}:\d{2}$/.test(tz)) return fail(controls.tz, 'an offset ±HH:MM, e.g. +08:00');
  return { logId: controls.log.value, from, to, tz };
}

async function preview(ev) {
  ev.preventDefault();
  const r = range();
  if (!r) return;
  const box = $('p-report');
  box.replaceChildren(h('p', { class: 'muted', role: 'status' }, `Computing the profile of records [${r.from}, ${r.to})…`));
  const done = await busy($('p-preview'), async () => {
    const profile = await api('POST', `/v1/logs/${r.logId}/profile`, { from: r.from, to: r.to, tz: r.tz });
    box.replaceChildren(
      h('div', { class: 'buttons no-print' }, h('button', { type: 'button', class: 'secondary', onclick: () => window.print() },
        'Print or save as PDF')),
      profileReport(profile, { title: `Preview: the profile of ${streamOf(r.logId)}, records [${r.from}, ${r.to})` }));
    return true;
  });
  if (!done) box.replaceChildren();
}

/** A disclosure's state: live, or revoked (when). */
const stateOf = (d) => (d.revoked_at ? badge(`revoked ${fmtTime(d.revoked_at)}`, 'lapsed') : badge('live', 'live'));

export async function renderDisclosures(box = $('disclosures')) {
  const list = await api('GET', '/v1/disclosures');
  const rows = list.map((d) => {
    const cell = h('td', { class: 'action' });
    if (!d.revoked_at) {
      const revoke = h('button', { type: 'button', class: 'secondary', id: `revoke-${d.id}` }, 'Revoke…');
      const confirm = h('button', { type: 'button', class: 'danger', id: `revoke-confirm-${d.id}`, hidden: true }, 'Confirm revoke');
      revoke.addEventListener('click', () => { revoke.hidden = true; confirm.hidden = false; confirm.focus(); });
      confirm.addEventListener('click', () => busy(confirm, async () => {
        await api('POST', `/v1/disclosures/${d.id}/revoke`);
        await renderDisclosures(box);
        $('d-result').replaceChildren(h('span', { class: 'notice' }, `Disclosure #${d.id} revoked: the lender can no longer fetch it.`));
      }));
      cell.append(revoke, confirm);
    }
    return h('tr', { 'data-testid': `disclosure-${d.id}` }, h('td', {}, `#${d.id}`), h('td', {}, d.stream),
      h('td', {}, `[${d.range.from}, ${d.range.to})`), h('td', {}, party(null, d.lender)), h('td', {}, d.tz),
      h('td', {}, fmtTime(d.created_at)), h('td', {}, stateOf(d)), cell);
  });
  box.replaceChildren(table(['#', 'Log', 'Records', 'Lender', 'Days at', 'Made', 'State', ''], rows, { class: 'disclosures' }));
  return list;
}

function wireDisclose() {
  const form = $('disclose-form'), lender = $('d-lender'), trigger = $('d-disclose');
  const review = $('d-review'), confirm = $('d-confirm'), cancel = $('d-cancel');
  let pending = null;
  const close = () => { review.hidden = true; trigger.hidden = false; pending = null; };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearError(lender);
    const r = range();
    if (!r) return;
    const who = lender.value.trim();
    if (!who) { showError(lender, new Error('name the lender: a party name (bank-a) or an address')); focusOn(lender); return; }
    pending = { ...r, lender: who };
    $('d-review-text').textContent = `Disclose every record of ${streamOf(r.logId)} [${r.from}, ${r.to}) — ${r.to - r.from} records, `
      + `each with its salt — to ${who}, with the profile at offset ${r.tz}. The records leave the service; revoking later stops `
      + 'further downloads only.';
    trigger.hidden = true; review.hidden = false; confirm.focus();
  });
  lender.addEventListener('input', close);
  cancel.addEventListener('click', () => { close(); trigger.focus(); });
  confirm.addEventListener('click', () => busy(confirm, async () => {
    const r = pending;
    const out = await api('POST', `/v1/logs/${r.logId}/disclosures`, { lender: r.lender, from: r.from, to: r.to, tz: r.tz });
    close();
    $('d-result').replaceChildren(h('span', { class: 'notice', 'data-testid': 'disclosed' },
      `Disclosure #${out.id} made: records [${out.range.from}, ${out.range.to}) of ${out.stream} to ${r.lender}.`));
    await refresh($('disclosures'), renderDisclosures, 'Disclosures');
  }));
}

/** The log choice and a default range (the whole log), once the logs are read (index.js start). */
export function fillProfileForm() {
  const select = $('p-log');
  const chosen = select.value;
  select.replaceChildren(...state.logs.map((l) => h('option', { value: l.log_id, selected: l.log_id === chosen }, `${l.stream} (${l.size} records)`)));
  const log = state.logs.find((l) => l.log_id === select.value);
  if (log && !$('p-from').value) $('p-from').value = '0';
  if (log && !$('p-to').value && log.size) $('p-to').value = String(log.size);
}

/** The consent form's "Preview the range's profile": its log and range, previewed under "Production profile". */
function previewConsentRange() {
  $('p-log').value = $('c-log').value;
  $('p-from').value = $('c-from').value;
  $('p-to').value = $('c-to').value;
  $('profile-h').scrollIntoView({ block: 'start' });
  $('profile-form').requestSubmit();
}

export function wireProfile() {
  $('profile-form').addEventListener('submit', preview);
  $('c-profile').addEventListener('click', previewConsentRange);
  $('p-log').addEventListener('change', () => {
    const log = state.logs.find((l) => l.log_id === $('p-log').value);
    if (log) { $('p-from').value = '0'; $('p-to').value = String(log.size); }
  });
  wireDisclose();
}
