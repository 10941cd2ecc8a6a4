// The factory's pledges (each with the badge of its covenant warnings, their timelines below:
// factory/warnings.js), the extensions it signed and its consents, as tables.
import { api } from '../../api.js';
import { badge, h, short, table } from '../../dom.js';
import { fmtAmount, fmtDate } from '../../format.js';
import { warningsBadge } from '../warnings.js';
import { party, streamOf } from './state.js';
import { renderFactoryWarnings } from './warnings.js';

/** The pledges over the factory's logs, shown in `box` (their warnings' timelines in `warningsBox`); resolves to them. */
export async function renderPledges(box, warningsBox = document.getElementById('pledge-warnings')) {
  const [pledges, raised] = await Promise.all([api('GET', '/v1/pledges'), api('GET', '/v1/warnings').catch(() => null)]);
  let counts = new Map();
  if (raised === null) {
    warningsBox?.replaceChildren(h('p', { class: 'error', role: 'alert' }, 'The covenant warnings could not be read.'));
  } else if (warningsBox) {
    counts = await renderFactoryWarnings(warningsBox, pledges, raised);
  }
  const warningCell = (p) => h('td', { 'data-field': 'warnings' }, raised === null ? '—' : warningsBadge(counts.get(p.token_id), p.token_id));
  box.replaceChildren(pledges.length ? table(['Token', 'Status', 'Log', 'Records', 'Principal', 'Maturity', 'Lien end', 'Max lien end', 'Holder', 'Warnings'],
    pledges.map((p) => h('tr', { 'data-token': p.token_id },
      h('td', {}, `#${p.token_id}`), h('td', {}, badge(p.status)), h('td', {}, streamOf(p.log_id)),
      h('td', {}, `[${p.from}, ${p.to})`), h('td', {}, fmtAmount(p.principal, p.currency)),
      h('td', {}, fmtDate(p.maturity)), h('td', {}, fmtDate(p.lien_end)), h('td', { 'data-field': 'max_lien_end' }, fmtDate(p.max_lien_end)),
      h('td', {}, party(p.holder_party, p.holder)), warningCell(p))),
    { class: 'pledges' }) : h('p', { class: 'muted' }, 'No pledges over these logs yet.'));
  return pledges;
}

export async function renderExtensions(box) {
  const extensions = await api('GET', '/v1/pledges/extensions');
  extensions.sort((a, b) => b.extension_id - a.extension_id);
  box.replaceChildren(extensions.length ? table(['Id', 'Pledge', 'New lien end', 'Deadline', 'State', 'Nonce'],
    extensions.map((e) => h('tr', { 'data-extension': e.extension_id },
      h('td', {}, `#${e.extension_id}`), h('td', {}, `#${e.token_id}`), h('td', {}, fmtDate(e.extension.lien_end)),
      h('td', {}, fmtDate(e.extension.deadline)),
      h('td', {}, e.used ? badge('used', 'ok') : e.expired ? badge('expired', 'lapsed') : badge('not used yet', 'pending')),
      h('td', {}, short(e.extension.nonce, 6)))), { class: 'extensions' })
    : h('p', { class: 'muted' }, 'No extensions signed.'));
}

export async function renderConsents(box) {
  const consents = await api('GET', '/v1/pledges/consents');
  consents.sort((a, b) => b.consent_id - a.consent_id);
  box.replaceChildren(consents.length ? table(['Id', 'Issued', 'Records', 'Lender', 'Principal', 'Deadline', 'Nonce'],
    consents.map(({ consent_id: id, token_id: token, lender_party: lender, consent: c }) => h('tr', { 'data-consent': id },
      h('td', {}, `#${id}`), h('td', {}, token ? badge(`pledge #${token}`, 'live') : badge('not issued', 'pending')),
      h('td', {}, `${c.stream} [${c.terms.from}, ${c.terms.to})`), h('td', {}, party(lender, c.terms.lender)),
      h('td', {}, fmtAmount(c.terms.principal, c.terms.currency)), h('td', {}, fmtDate(c.deadline)),
      h('td', {}, short(c.nonce, 6)))), { class: 'consents' })
    : h('p', { class: 'muted' }, 'No consents yet: prepare one below.'));
}

