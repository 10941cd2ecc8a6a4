// Loan applications on the pages (docs/APPLICATIONS.md), shared by the factory's "My
// applications" (factory/applications.js) and the lender's inbox (lender/applications.js): a
// state as a badge, a decision in words, the timestamped steps, the application's terms.
import { h, short } from '../dom.js';
import { fmtAmount, fmtTime } from '../format.js';
import { grantRecords, grantTypes } from './grants_common.js';

/** The states in words, and each badge's colour. */
const STATE_KIND = {
  submitted: 'pending', 'under-review': 'pending', 'more-data-requested': 'pending', approved: 'ok', consented: 'ok',
  pledged: 'live', declined: 'bad', withdrawn: 'lapsed',
};
/** The decline reasons (ledger.applications.REASONS) in words. */
export const REASONS = {
  'insufficient-collateral': 'the collateral offered does not cover the amount',
  'insufficient-data': 'the granted data is not enough to decide',
  'data-quality': 'the granted records or the profile show problems',
  'credit-policy': "outside the lender's credit policy",
  amount: 'the amount or currency is not one the lender lends',
  purpose: 'the purpose is not one the lender finances',
  other: 'another reason, given in the text',
};

export const stateBadge = (s) => h('span', { class: `badge ${STATE_KIND[s] || ''}`, 'data-state': s }, s.replace(/-/g, ' '));

/** A decision in words: approved with terms, more data asked (why), declined (reason and text). */
export function decisionText(d) {
  if (!d) return null;
  if (d.decision === 'approve') {
    const t = d.terms;
    return h('p', { 'data-testid': 'decision' }, h('b', {}, 'Approved: '),
      `${fmtAmount(t.principal, t.currency)} against records [${t.from}, ${t.to}), maturity ${t.maturity}, lien until ${t.lien_end}, `
      + `${t.samples} samples, loan ${t.loan_ref}.`, d.text ? ` “${d.text}”` : '');
  }
  if (d.decision === 'request-more') {
    return h('div', { 'data-testid': 'decision' }, h('p', {}, h('b', {}, 'More data asked: '), d.text || ''),
      h('p', { class: 'muted' }, `Asked for: ${grantRecords(d.grant.records)}, until ${d.grant.expires}:`), grantTypes(d.grant.types));
  }
  return h('p', { 'data-testid': 'decision' }, h('b', {}, 'Declined'), ` (${d.reason}: ${REASONS[d.reason] || d.reason}): ${d.text || ''}`);
}

/** The steps of an application, oldest first: when, who, what, the state after. */
export function eventsList(events) {
  return h('ol', { class: 'events', 'data-testid': 'events' }, events.map((e) => h('li', { 'data-action': e.action },
    h('span', { class: 'muted' }, fmtTime(e.at)), ' — ', h('b', {}, e.party), ` (${e.role}) ${e.action.replace(/-/g, ' ')} → `,
    stateBadge(e.state),
    e.detail?.consent_id ? ` consent #${e.detail.consent_id}` : '', e.detail?.token_id ? ` pledge #${e.detail.token_id}` : '',
    e.detail?.grant_id ? ` grant #${e.detail.grant_id}` : '')));
}

/** The application's documents in short: amount, lender, purpose, collateral (`streamOf(logId)` names a log), grants. */
export function applicationTerms(a, lenderText, streamOf = (id) => short(id, 6)) {
  const doc = a.application;
  return h('dl', { class: 'terms' },
    h('dt', {}, 'Amount'), h('dd', { 'data-field': 'amount' }, fmtAmount(doc.amount, doc.currency)),
    h('dt', {}, 'Lender'), h('dd', {}, lenderText),
    h('dt', {}, 'Purpose'), h('dd', {}, doc.purpose),
    h('dt', {}, 'Collateral'), h('dd', {}, doc.collateral.map((c) => h('div', {}, streamOf(c.log_id), ` [${c.from}, ${c.to})`))),
    h('dt', {}, 'Grants'), h('dd', {}, a.grant_ids.map((id) => `#${id}`).join(', ')),
    h('dt', {}, 'Applied'), h('dd', {}, fmtTime(a.created_at)));
}
