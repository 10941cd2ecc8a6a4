// Factory page, "Loan applications" (docs/APPLICATIONS.md): apply to a lender (dpl-application/1:
// amount, currency, purpose, the collateral range offered and the data-access grant the lender
// reads to decide), and "My applications": each with its state and its timestamped steps, the
// lender's decision in words; an approved one's consent draft reviewed and signed with the
// consent flow (factory/consent.js renderDraft), then linked; a request for more data answered
// with the grant asked for; withdraw (after a confirmation: its grants are revoked at once).
import { api } from '../../api.js';
import { busy, clearError, focusOn, h, short, showError } from '../../dom.js';
import { fmtAmount, parseAmount } from '../../format.js';
import { renderDraft } from './consent.js';
import { lenderAddress, lenderName, offerTypes, renderGrants, typedTypes } from './grants.js';
import { applicationTerms, decisionText, eventsList, stateBadge } from '../applications.js';
import { refresh, state, streamOf } from './state.js';

const $ = (id) => document.getElementById(id);

const WITHDRAWABLE = ['submitted', 'under-review', 'approved', 'more-data-requested'];

/** "Review and sign the consent…": the draft of an approved application, signed, then linked. */
function consentAction(a, box) {
  const open = h('button', { type: 'button', id: `app-${a.id}-draft` }, 'Review and sign the consent…');
  const draftBox = h('div', { class: 'stack', 'data-testid': `app-${a.id}-draft` });
  open.addEventListener('click', () => busy(open, async () => {
    const draft = await api('GET', `/v1/applications/${a.id}/draft`);
    open.hidden = true;
    renderDraft(draftBox, draft, draft.terms, {
      id: `app-${a.id}-c`,
      onDone: async (out) => {
        await api('POST', `/v1/applications/${a.id}/consent`, { consent_id: out.consent_id });
        await refresh(box, renderApplications, 'Applications');
        $('ap-result').replaceChildren(h('span', { class: 'notice', 'data-testid': 'app-consented' },
          `Application #${a.id}: consent #${out.consent_id} signed and linked; the lender can now issue the pledge.`));
      },
    });
  }));
  return [open, draftBox];
}

/** "Grant as asked": answers a request for more data with the grant the lender asked for. */
function moreDataAction(a, box) {
  const asked = a.decision?.grant;
  if (!asked) return [];
  const button = h('button', { type: 'button', id: `app-${a.id}-more` }, 'Grant as asked');
  button.addEventListener('click', () => busy(button, async () => {
    await api('POST', `/v1/applications/${a.id}/more-data`, asked);
    await refresh(box, renderApplications, 'Applications');
    $('ap-result').replaceChildren(h('span', { class: 'notice', 'data-testid': 'app-more-data' },
      `Application #${a.id}: the grant asked for is made; the application is with the lender again.`));
  }));
  return [button];
}

function withdrawAction(a, box) {
  if (!WITHDRAWABLE.includes(a.state)) return [];
  const trigger = h('button', { type: 'button', class: 'secondary', id: `app-${a.id}-withdraw` }, 'Withdraw…');
  const confirm = h('button', { type: 'button', class: 'danger', id: `app-${a.id}-withdraw-confirm`, hidden: true },
    'Confirm withdraw (its grants are revoked)');
  trigger.addEventListener('click', () => { trigger.hidden = true; confirm.hidden = false; focusOn(confirm); });
  confirm.addEventListener('click', () => busy(confirm, async () => {
    await api('POST', `/v1/applications/${a.id}/withdraw`);
    await refresh(box, renderApplications, 'Applications');
    $('ap-result').replaceChildren(h('span', { class: 'notice', 'data-testid': 'app-withdrawn' },
      `Application #${a.id} withdrawn; its grants are revoked.`));
  }));
  return [trigger, confirm];
}

function applicationCard(a, box) {
  const name = a.lender_party || lenderName(a.lender);
  const actions = [
    ...(a.state === 'approved' ? consentAction(a, box) : []),
    ...(a.state === 'more-data-requested' ? moreDataAction(a, box) : []),
    ...withdrawAction(a, box)];
  return h('article', { class: 'item application', 'data-testid': `application-${a.id}`, 'data-state': a.state },
    h('h3', {}, `Application #${a.id} `, stateBadge(a.state)),
    applicationTerms(a, name ? [h('b', {}, name), ' ', short(a.lender, 6)] : short(a.lender, 6), streamOf),
    decisionText(a.decision) || '',
    a.token_id ? h('p', { class: 'notice' }, `Pledge #${a.token_id} issued.`) : '',
    h('details', { open: true }, h('summary', {}, `Steps (${a.events.length})`), eventsList(a.events)),
    actions.length ? h('div', { class: 'buttons' }, actions.filter((x) => x.tagName === 'BUTTON')) : '',
    ...actions.filter((x) => x.tagName !== 'BUTTON'));
}

/** The factory's applications, newest first (and the grants table: applying, more data and withdrawing change grants). */
export async function renderApplications(box = $('applications')) {
  const list = await api('GET', '/v1/applications');
  if ($('grants')) refresh($('grants'), renderGrants, 'Grants');
  list.sort((x, y) => y.id - x.id);
  box.replaceChildren(...(list.length ? list.map((a) => applicationCard(a, box))
    : [h('p', { class: 'muted' }, 'No applications yet: apply above.')]));
  return list;
}

/** The application as typed, checked here (an error next to its field), or null. */
function typedApplication() {
  const ids = ['ap-lender', 'ap-amount', 'ap-currency', 'ap-purpose', 'ap-log', 'ap-from', 'ap-to', 'ap-expires', 'ap-types-legend', 'ap-tz'];
  ids.forEach((id) => clearError($(id)));
  const fail = (el, text) => { showError(el, new Error(text)); focusOn(el); return null; };
  let lender;
  try { lender = lenderAddress($('ap-lender').value.trim()); } catch (e) { return fail($('ap-lender'), e.message); }
  const currency = $('ap-currency').value.trim().toUpperCase();
  if (!/^[A-Z]{3}$/.test(currency)) return fail($('ap-currency'), 'an ISO 4217 code: three letters, e.g. CNY');
  let amount;
  try { amount = String(parseAmount($('ap-amount').value, currency)); } catch (e) { return fail($('ap-amount'), e.message); }
  const purpose = $('ap-purpose').value.trim();
  if (!purpose) return fail($('ap-purpose'), 'say what the loan is for');
  const logId = $('ap-log').value;
  if (!logId) return fail($('ap-log'), 'choose the log offered as collateral');
  const int = (el) => (/^\d+$/.test(el.value.trim()) ? Number(el.value.trim()) : null);
  const from = int($('ap-from')), to = int($('ap-to'));
  if (from === null) return fail($('ap-from'), 'the first record: a whole number from 0');
  if (to === null || to <= from) return fail($('ap-to'), `the end of the range: a whole number above ${from}`);
  const types = typedTypes($('ap-types'), $('ap-types-legend'));
  if (!types) return null;
  const expires = $('ap-expires').value;
  if (!expires) return fail($('ap-expires'), 'the day the grant ends');
  const tz = $('ap-tz').value.trim() || '+00:00';
  if ($('ap-profile').checked && !/^[+-]\d{2}:\d{2}$/.test(tz)) return fail($('ap-tz'), 'an offset ±HH:MM, e.g. +08:00');
  return { format: 'dpl-application/1', lender, amount, currency, purpose, collateral: [{ log_id: logId, from, to }],
    ...($('ap-profile').checked ? { profile: { tz } } : {}),
    grant: { format: 'dpl-grant/1', lender, logs: [logId], records: { from, to }, types, expires: `${expires}T00:00:00Z` } };
}

function wireApplyForm() {
  const form = $('apply-form'), trigger = $('ap-review'), review = $('ap-review-box'), confirm = $('ap-confirm');
  let pending = null;
  const close = () => { review.hidden = true; trigger.hidden = false; pending = null; };
  $('ap-log').addEventListener('change', () => {
    const log = state.logs.find((l) => l.log_id === $('ap-log').value);
    if (log) { $('ap-from').value = '0'; $('ap-to').value = String(log.size); }
    offerTypes($('ap-types'), $('ap-log').value ? [$('ap-log').value] : [], 'ap-type').catch((e) => showError($('ap-types-legend'), e));
  });
  form.addEventListener('input', close);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const doc = typedApplication();
    if (!doc) return;
    pending = doc;
    const who = lenderName(doc.lender);
    const types = Object.entries(doc.grant.types).map(([t, f]) => `${t} (${f.length === 1 && f[0] === '*' ? 'every field' : f.join(', ')})`);
    $('ap-review-text').textContent = `Apply to ${who ? `${who} (${doc.lender})` : doc.lender} for ${fmtAmount(doc.amount, doc.currency)}, `
      + `offering records [${doc.collateral[0].from}, ${doc.collateral[0].to}) of ${streamOf(doc.collateral[0].log_id)} as collateral, `
      + `and let the lender read them to decide: the records of type ${types.join('; ')} until ${doc.grant.expires}. `
      + (doc.profile ? `The lender may also read the production profile of the range (days at ${doc.profile.tz}): `
        + 'its figures cover every record of the range, the fields the grant hides too.' : 'The lender sees no production profile of the range.');
    trigger.hidden = true; review.hidden = false; focusOn(confirm);
  });
  $('ap-cancel').addEventListener('click', () => { close(); focusOn(trigger); });
  confirm.addEventListener('click', () => busy(confirm, async () => {
    const out = await api('POST', '/v1/applications', pending);
    close();
    $('ap-result').replaceChildren(h('span', { class: 'notice', 'data-testid': 'applied' },
      `Application #${out.id} sent to ${out.lender_party || out.lender} (grant #${out.grant_ids[0]}).`));
    await refresh($('applications'), renderApplications, 'Applications');
  }));
}

/** The log choice and defaults, once the logs are read (index.js start). */
export function fillApplyForm() {
  const select = $('ap-log');
  const chosen = select.value;
  select.replaceChildren(h('option', { value: '' }, 'choose a log'),
    ...state.logs.filter((l) => l.log_id).map((l) => h('option', { value: l.log_id, selected: l.log_id === chosen }, `${l.stream} (${l.size} records)`)));
  if (!$('ap-expires').value) $('ap-expires').value = new Date(Date.now() + 30 * 86400e3).toISOString().slice(0, 10);
  if (!$('ap-currency').value) $('ap-currency').value = 'CNY';
  refresh($('applications'), renderApplications, 'Applications');
}

export function wireApplications() {
  wireApplyForm();
}
