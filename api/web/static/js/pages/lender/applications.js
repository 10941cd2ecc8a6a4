// Lender page, "Applications": the loan applications sent to this lender (docs/APPLICATIONS.md),
// open ones first. Reviewing one: "Start review" (submitted → under review), the granted records
// read through the application's grants (lender/grants.js readForm: only the granted fields,
// proven records verified in the browser, every read in the factory's access log), the collateral
// range's production profile as the report (GET /v1/applications/{id}/profile); then a decision,
// reviewed in words before it is sent: approve with terms (the factory then signs the consent, which
// appears under "Consents naming you" to issue), ask for more data (a wider grant, and why), or
// decline with a reason code and a text.
import { readConfig } from '../../config.js';
import { api, errorText } from '../../api.js';
import { busy, clearError, focusOn, h, showError } from '../../dom.js';
import { currencyDigits, fmtAmount, parseAmount } from '../../format.js';
import { profileReport } from '../profile_report.js';
import { applicationTerms, decisionText, eventsList, REASONS, stateBadge } from '../applications.js';
import { readForm } from './grants.js';

const $ = (id) => document.getElementById(id);
const OPEN = ['submitted', 'under-review'];

/** Minor units as the amount a person types ("1250000.00"), in the currency's decimals. */
function majorText(minor, currency) {
  const digits = currencyDigits(currency);
  const s = String(minor).padStart(digits + 1, '0');
  return digits ? `${s.slice(0, -digits)}.${s.slice(-digits)}` : s;
}

/** "type: field, field" lines (a grant's types as text), and back; `*` for every field. */
const typesText = (types) => Object.entries(types).map(([t, f]) => `${t}: ${f.join(', ')}`).join('\n');
function typesOf(text) {
  const types = {};
  for (const line of text.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const at = line.indexOf(':');
    if (at < 1) throw new Error(`"${line}": write each type as "type: field, field" (or "type: *")`);
    const fields = line.slice(at + 1).split(',').map((f) => f.trim()).filter(Boolean);
    if (!fields.length) throw new Error(`"${line}": name at least one field (or *)`);
    types[line.slice(0, at).trim()] = fields;
  }
  if (!Object.keys(types).length) throw new Error('name at least one record type and its fields');
  return types;
}

const field = (id, label, control) => h('div', { class: 'stack' }, h('label', { for: id }, label), control);

/** The decision form of application `a`: approve / request more / decline, reviewed, then sent. */
function decisionForm(a, grant, reload) {
  const p = `ad-${a.id}`;
  const doc = a.application;
  const c = doc.collateral[0];
  const year = new Date().getUTCFullYear() + 1;
  const kind = h('select', { id: `${p}-kind` }, h('option', { value: 'approve' }, 'Approve with terms'),
    h('option', { value: 'request-more' }, 'Ask for more data'), h('option', { value: 'decline' }, 'Decline'));
  const ctl = {
    from: h('input', { id: `${p}-from`, type: 'number', min: 0, step: 1, value: c.from }),
    to: h('input', { id: `${p}-to`, type: 'number', min: 1, step: 1, value: c.to }),
    principal: h('input', { id: `${p}-principal`, inputmode: 'decimal', autocomplete: 'off', value: majorText(doc.amount, doc.currency) }),
    currency: h('input', { id: `${p}-currency`, maxlength: 3, value: doc.currency }),
    maturity: h('input', { id: `${p}-maturity`, type: 'date', value: `${year}-06-30` }),
    lien_end: h('input', { id: `${p}-lien-end`, type: 'date', value: `${year}-12-31` }),
    samples: h('input', { id: `${p}-samples`, type: 'number', min: 1, max: 10000, step: 1, value: 8 }),
    loan_ref: h('input', { id: `${p}-loan-ref`, maxlength: 200, autocomplete: 'off', value: `LOAN-APP-${a.id}` }),
    profile: h('input', { id: `${p}-profile`, type: 'checkbox', checked: Boolean(doc.profile) }),
    types: h('textarea', { id: `${p}-types`, rows: 3, spellcheck: 'false' }, grant ? typesText(grant.types) : ''),
    reason: h('select', { id: `${p}-reason` }, Object.entries(REASONS).map(([code, words]) => h('option', { value: code }, `${code} — ${words}`))),
    text: h('textarea', { id: `${p}-text`, rows: 2, maxlength: 2000 }),
  };
  const approve = h('div', { class: 'row', 'data-kind': 'approve' },
    field(ctl.from.id, 'Pledged from', ctl.from), field(ctl.to.id, 'Pledged to (exclusive)', ctl.to),
    field(ctl.principal.id, 'Principal', ctl.principal), field(ctl.currency.id, 'Currency', ctl.currency),
    field(ctl.maturity.id, 'Maturity', ctl.maturity), field(ctl.lien_end.id, 'Lien end', ctl.lien_end),
    field(ctl.samples.id, 'Samples', ctl.samples), field(ctl.loan_ref.id, 'Loan reference', ctl.loan_ref),
    h('div', {}, h('label', { class: 'check' }, ctl.profile, " Pledge the range's production profile too")));
  const more = h('div', { class: 'stack', 'data-kind': 'request-more', hidden: true },
    field(ctl.types.id, 'Record types and fields to ask for (one "type: field, field" a line; * = every field)', ctl.types));
  const decline = h('div', { class: 'stack', 'data-kind': 'decline', hidden: true }, field(ctl.reason.id, 'Reason', ctl.reason));
  const textLabel = h('label', { for: ctl.text.id }, 'A word to the factory (optional)');
  kind.addEventListener('change', () => {
    approve.hidden = kind.value !== 'approve'; more.hidden = kind.value !== 'request-more'; decline.hidden = kind.value !== 'decline';
    textLabel.textContent = kind.value === 'approve' ? 'A word to the factory (optional)' : kind.value === 'decline'
      ? 'Why, in words (the factory reads it)' : 'Why more data is needed (the factory reads it)';
  });

  const trigger = h('button', { type: 'button', id: `${p}-review` }, 'Review decision');
  const reviewText = h('p', { 'data-testid': `${p}-review-text` });
  const confirm = h('button', { type: 'button', id: `${p}-confirm` }, 'Confirm decision');
  const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
  const panel = h('div', { class: 'stack confirm', hidden: true, role: 'group', 'aria-label': 'Confirm decision' },
    reviewText, h('div', { class: 'buttons' }, confirm, cancel));
  let pending = null;

  /** The decision as typed, or null after an error beside its field. */
  const typed = () => {
    Object.values(ctl).filter((el) => el.type !== 'checkbox').forEach(clearError);
    const fail = (el, e) => { showError(el, e instanceof Error ? e : new Error(e)); focusOn(el); return null; };
    const text = ctl.text.value.trim();
    if (kind.value === 'decline') {
      if (!text) return fail(ctl.text, 'say why the application is declined');
      return { body: { format: 'dpl-decision/1', decision: 'decline', reason: ctl.reason.value, text },
        words: `Decline application #${a.id} (${ctl.reason.value}: ${REASONS[ctl.reason.value]}): “${text}”.` };
    }
    if (kind.value === 'request-more') {
      if (!text) return fail(ctl.text, 'say why more data is needed');
      let types;
      try { types = typesOf(ctl.types.value); } catch (e) { return fail(ctl.types, e); }
      const asked = { format: 'dpl-grant/1', lender: readConfig().address, logs: grant?.logs || [c.log_id],
        records: grant?.records || { from: c.from, to: c.to }, types, expires: grant?.expires };
      return { body: { format: 'dpl-decision/1', decision: 'request-more', grant: asked, text },
        words: `Ask ${a.factory} for more data on application #${a.id}: ${typesText(types).replace(/\n/g, '; ')} — “${text}”.` };
    }
    const currency = ctl.currency.value.trim().toUpperCase();
    let principal;
    try { principal = String(parseAmount(ctl.principal.value, currency)); } catch (e) { return fail(ctl.principal, e); }
    const terms = { log_id: c.log_id, from: Number(ctl.from.value), to: Number(ctl.to.value), principal, currency,
      maturity: ctl.maturity.value, lien_end: ctl.lien_end.value, samples: Number(ctl.samples.value), loan_ref: ctl.loan_ref.value.trim() };
    if (ctl.profile.checked) terms.profile = doc.profile || {};
    return { body: { format: 'dpl-decision/1', decision: 'approve', terms, ...(text ? { text } : {}) },
      words: `Approve application #${a.id}: lend ${fmtAmount(principal, currency)} against records [${terms.from}, ${terms.to}), `
        + `maturity ${terms.maturity}, lien until ${terms.lien_end}, ${terms.samples} samples, loan ${terms.loan_ref}`
        + `${terms.profile ? ', with the range\'s production profile pledged' : ''}. `
        + `${a.factory} then signs the consent, and you issue the pledge from it.` };
  };
  trigger.addEventListener('click', () => {
    pending = typed();
    if (!pending) return;
    reviewText.textContent = pending.words;
    trigger.hidden = true; panel.hidden = false; focusOn(confirm);
  });
  const close = () => { panel.hidden = true; trigger.hidden = false; pending = null; };
  cancel.addEventListener('click', () => { close(); focusOn(trigger); });
  for (const el of [kind, ...Object.values(ctl)]) el.addEventListener('input', close);
  kind.addEventListener('change', close);
  confirm.addEventListener('click', () => busy(confirm, async () => {
    await api('POST', `/v1/applications/${a.id}/decision`, pending.body);
    await reload();
  }));
  return h('div', { class: 'stack decision-form' }, h('h4', {}, 'Decide'), field(kind.id, 'Decision', kind), approve, more, decline,
    h('div', { class: 'stack' }, textLabel, ctl.text), h('div', {}, trigger), panel);
}

/** "Open the collateral's profile": the dpl-profile/1 of the range offered, as the report (when the factory offers it). */
function profileAction(a) {
  const offered = a.application.profile;
  if (!offered) {
    return h('p', { class: 'muted', 'data-testid': `ap-${a.id}-no-profile` },
      "The factory did not offer the collateral's production profile with this application (it aggregates every record, "
      + 'hidden fields too, so it is the factory\'s choice).');
  }
  const open = h('button', { type: 'button', class: 'secondary', id: `ap-${a.id}-profile` }, "Open the collateral's profile");
  const box = h('div', { 'data-testid': `ap-${a.id}-profile` });
  open.addEventListener('click', () => busy(open, async () => {
    const profile = await api('GET', `/v1/applications/${a.id}/profile?collateral=0`);
    const c = a.application.collateral[0];
    box.replaceChildren(profileReport(profile, { title: `The collateral's profile: records [${c.from}, ${c.to}), days at ${profile.tz ?? offered.tz ?? '+00:00'}` }));
    open.hidden = true;
  }));
  return h('div', { class: 'stack' }, h('div', {}, open), box);
}

/** The granted records of the application: a read form per grant it carries (live ones). */
async function grantsPart(a) {
  const grants = await Promise.all(a.grant_ids.map((id) => api('GET', `/v1/grants/${id}`).catch(() => null)));
  const live = grants.filter((g) => g && g.state === 'live');
  return [h('div', { class: 'stack' }, live.length ? live.map((g) => h('div', { class: 'stack', 'data-testid': `ap-${a.id}-grant-${g.id}` },
    h('p', {}, h('b', {}, `Grant #${g.id}`), ': ', Object.entries(g.grant.types).map(([t, f]) => `${t} (${f.join(', ')})`).join('; ')),
    readForm(g, { prefix: `ap-${a.id}-gr`, testid: `ap-${a.id}-grant` }))) : h('p', { class: 'muted' }, 'No live grant: the factory revoked it or it expired.')), live[live.length - 1]?.grant];
}

async function applicationCard(a, reload) {
  const card = h('article', { class: 'item application', 'data-testid': `application-${a.id}`, 'data-state': a.state });
  const parts = [h('h3', {}, `Application #${a.id} from ${a.factory} `, stateBadge(a.state)),
    applicationTerms(a, 'you'), decisionText(a.decision) || ''];
  if (a.state === 'approved') parts.push(h('p', { class: 'muted' }, 'Waiting for the factory to sign the consent on these terms.'));
  if (a.state === 'consented') parts.push(h('p', { class: 'notice' }, `Consent #${a.consent_id} signed: issue the pledge under "Consents naming you".`));
  if (a.token_id) parts.push(h('p', { class: 'notice' }, `Pledge #${a.token_id} issued.`));
  if (OPEN.includes(a.state)) {
    if (a.state === 'submitted') {
      const start = h('button', { type: 'button', class: 'secondary', id: `ap-${a.id}-start` }, 'Start review');
      start.addEventListener('click', () => busy(start, async () => { await api('POST', `/v1/applications/${a.id}/review`); await reload(); }));
      parts.push(h('div', {}, start));
    }
    const [records, grant] = await grantsPart(a);
    parts.push(h('details', { open: true }, h('summary', {}, 'The granted records'), records),
      h('details', { open: true }, h('summary', {}, "The collateral's production profile"), profileAction(a)),
      decisionForm(a, grant, reload));
  }
  parts.push(h('details', {}, h('summary', {}, `Steps (${a.events.length})`), eventsList(a.events)));
  card.replaceChildren(...parts);
  return card;
}

export async function loadApplications() {
  const box = $('applications');
  box.setAttribute('aria-busy', 'true');
  const reload = () => loadApplications();
  try {
    const list = await api('GET', '/v1/applications');
    list.sort((x, y) => (OPEN.includes(x.state) === OPEN.includes(y.state) ? y.id - x.id : OPEN.includes(x.state) ? -1 : 1));
    box.replaceChildren(...(list.length ? await Promise.all(list.map((a) => applicationCard(a, reload)))
      : [h('p', { class: 'muted', 'data-testid': 'no-applications' }, 'No factory has applied to you yet.')]));
  } catch (e) {
    box.replaceChildren(h('p', { class: 'error', role: 'alert' }, 'Could not load the applications: ', errorText(e)));
  }
  box.setAttribute('aria-busy', 'false');
}

export function wireApplications() {
  const reload = $('reload-applications');
  reload.addEventListener('click', async () => { reload.disabled = true; await loadApplications(); reload.disabled = false; });
  return loadApplications();
}
