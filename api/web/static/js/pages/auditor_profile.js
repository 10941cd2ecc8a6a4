// Auditor page, "Production profile": the profile of a range of any log (POST
// /v1/logs/{id}/profile; an auditor sees figures, never records), shown as the report
// (pages/profile_report.js), every figure "declared" — by the service's computation, the
// auditor holding no records to recompute it from.
import { api } from '../api.js';
import { busy, clearError, focusOn, h, showError } from '../dom.js';
import { profileReport } from './profile_report.js';

const $ = (id) => document.getElementById(id);

/** Offers `logs` ([{log_id, stream, size}]) in the form; the range defaults to the whole log. */
export function offerLogs(logs) {
  const select = $('pf-log');
  select.replaceChildren(...logs.filter((l) => l.log_id).map((l) => h('option', { value: l.log_id }, `${l.stream} (${l.size} records)`)));
  const fill = () => { const l = logs.find((x) => x.log_id === select.value); if (l) { $('pf-from').value = '0'; $('pf-to').value = String(l.size); } };
  select.onchange = fill;
  fill();
}

async function build(ev) {
  ev.preventDefault();
  const fields = ['pf-log', 'pf-from', 'pf-to', 'pf-tz'].map($);
  fields.forEach(clearError);
  const [log, from, to, tz] = fields;
  const int = (el) => (/^\d+$/.test(el.value.trim()) ? Number(el.value.trim()) : null);
  const fail = (el, text) => { showError(el, new Error(text)); focusOn(el); };
  if (!log.value) return fail(log, 'choose a log');
  if (int(from) === null) return fail(from, 'the first record: a whole number from 0');
  if (int(to) === null || int(to) <= int(from)) return fail(to, `the end of the range: a whole number above ${int(from)}`);
  if (!/^[+-]\d{2}:\d{2}$/.test(tz.value.trim())) return fail(tz, 'an offset ±HH:MM, e.g. +08:00');
  const box = $('pf-report');
  await busy($('pf-build'), async () => {
    const profile = await api('POST', `/v1/logs/${log.value}/profile`, { from: int(from), to: int(to), tz: tz.value.trim() });
    box.replaceChildren(
      h('div', { class: 'buttons no-print' }, h('button', { type: 'button', class: 'secondary', onclick: () => window.print() }, 'Print or save as PDF')),
      profileReport(profile, { title: `The profile of ${log.selectedOptions[0]?.textContent ?? ''}, records [${int(from)}, ${int(to)})` }));
  });
}

export function wireProfile() {
  $('profile-form').addEventListener('submit', build);
}
