// The covenant warnings about the factory's own pledges: the same timeline the lender reads
// (pages/warnings.js), read-only, and on each warning with records "Disclose this window to the
// lender…": after a review saying what leaves the service, the window [from, to) is disclosed in
// full (POST /v1/logs/{id}/disclosures) to the pledge's holder at the checkpoint the warning was
// judged at, with the covenants' offset and the pledged profile's mapping, so the lender can
// recompute the figure itself.
import { api } from '../../api.js';
import { busy, focusOn, h } from '../../dom.js';
import { fmtCount } from '../profile_report.js';
import { countWarnings, renderWarnings, unresolved } from '../warnings.js';
import { renderDisclosures } from './profile.js';
import { refresh, streamOf } from './state.js';

/** token id -> the covenants the factory agreed to (from its kept consents), for their offset. */
async function covenantsByToken() {
  const consents = await api('GET', '/v1/pledges/consents').catch(() => []);
  return new Map(consents.filter((c) => c.token_id && c.consent?.covenants).map((c) => [c.token_id, c.consent.covenants]));
}

/** The holder as the review names it: its party name and address, or the address. */
const holderText = (p) => (p.holder_party ? `${p.holder_party} (${p.holder})` : p.holder);

/** "Disclose this window to the lender…" with its review (Confirm / Cancel) and the outcome beside it. */
function discloseAction(p, w, covenants) {
  const { from, to } = w.window || {};
  if (!(to > from) || !p.holder) return [];
  const id = `disclose-warning-${w.id}`;
  const trigger = h('button', { type: 'button', class: 'secondary', id }, 'Disclose this window to the lender…');
  const text = h('p', { 'data-testid': `${id}-review` });
  const confirm = h('button', { type: 'button', class: 'danger', id: `${id}-confirm` }, 'Confirm disclosure');
  const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
  const panel = h('div', { class: 'stack confirm', hidden: true, role: 'group', 'aria-label': 'Confirm disclosure' },
    text, h('div', { class: 'buttons' }, confirm, cancel));
  const result = h('p', { role: 'status', 'data-testid': `${id}-result` });
  const tz = covenants.get(p.token_id)?.tz;
  trigger.addEventListener('click', () => {
    text.textContent = `Disclose every record of ${streamOf(p.log_id)} [${from}, ${to}) — ${fmtCount(to - from)} records, `
      + `each with its salt — to ${holderText(p)}, the holder of pledge #${p.token_id}, at checkpoint `
      + `${fmtCount(w.checkpoint.size)} (the one this warning was judged at), so it can recompute the figure. `
      + 'The records leave the service; revoking later stops further downloads only.';
    trigger.hidden = true; panel.hidden = false; focusOn(confirm);
  });
  cancel.addEventListener('click', () => { panel.hidden = true; trigger.hidden = false; focusOn(trigger); });
  confirm.addEventListener('click', () => busy(confirm, async () => {
    const profile = await api('GET', `/v1/pledges/${p.token_id}/profile`).catch(() => null);
    const body = { lender: p.holder, from, to, checkpoint: w.checkpoint.size, tz: tz || profile?.tz || '+00:00' };
    if (profile?.mapping) body.mapping = profile.mapping;
    const out = await api('POST', `/v1/logs/${p.log_id}/disclosures`, body);
    panel.hidden = true; trigger.hidden = false;
    result.replaceChildren(h('span', { class: 'notice' }, `Disclosure #${out.id} made: records [${out.range.from}, `
      + `${out.range.to}) of ${out.stream} to ${p.holder_party || p.holder}.`));
    focusOn(trigger);
    const list = document.getElementById('disclosures');
    if (list) await refresh(list, renderDisclosures, 'Disclosures');
  }));
  return [h('div', { class: 'stack' }, trigger, panel, result)];
}

/** What the factory can do with a warning, in its entry's button row (more actions join here). */
const warningActions = (p, w, covenants) => [...discloseAction(p, w, covenants)];

/**
 * The warnings of each of `pledges` that has any, one timeline per pledge in `box`; resolves to
 * token id -> counts (for the pledges table's badges). `raised`: GET /v1/warnings.
 */
export async function renderFactoryWarnings(box, pledges, raised) {
  const byToken = new Map();
  for (const w of raised) byToken.set(w.token_id, [...(byToken.get(w.token_id) || []), w]);
  const covenants = byToken.size ? await covenantsByToken() : new Map();
  const parts = pledges.filter((p) => byToken.has(p.token_id)).map((p) => {
    const list = byToken.get(p.token_id);
    const timeline = h('div', { 'data-testid': `warnings-${p.token_id}` });
    renderWarnings(timeline, list, { actions: (w) => warningActions(p, w, covenants) });
    return h('details', { class: 'warnings-part', open: unresolved(list) },
      h('summary', {}, `Pledge #${p.token_id}: covenant warnings (${list.length})`), timeline);
  });
  box.replaceChildren(...(parts.length ? [h('h3', {}, 'Covenant warnings'),
    h('p', { class: 'muted' }, 'What the monitor found about your pledged logs after each loan: the holder sees the same.'),
    ...parts] : []));
  return new Map([...byToken].map(([token, list]) => [token, countWarnings(list)]));
}
