// Factory page, "Add records": create a log, append a file of records (JSON Lines or a JSON
// array) as one all-or-nothing batch. Tells the rest of the page with a `dpl:logs-changed` event.
import { api } from '../../api.js';
import { busy, clearError, h, showError } from '../../dom.js';

const $ = (id) => document.getElementById(id);
const MAX_BYTES = 64 * 1024 * 1024;

async function fillLogs(selected) {
  const select = $('a-log');
  try {
    const logs = await api('GET', '/v1/logs');
    select.replaceChildren(...(logs.length
      ? logs.map((l) => h('option', { value: l.log_id, selected: l.log_id === selected }, `${l.stream} (${l.size} records)`))
      : [h('option', { value: '' }, 'create a log first')]));
  } catch (e) {
    showError(select, e);
  }
}

function changed(logId) {
  document.dispatchEvent(new CustomEvent('dpl:logs-changed'));
  return fillLogs(logId);
}

/** JSON Lines unless the file is a JSON array (its first non-blank character is "["). */
async function contentTypeOf(file) {
  const head = await file.slice(0, 4096).text();
  return head.trimStart().startsWith('[') ? 'application/json' : 'application/x-ndjson';
}

/** Wires the two forms and fills the log choice (once, at start). */
export function wireRecords() {
  $('new-log').addEventListener('submit', createLog);
  $('append').addEventListener('submit', appendFile);
  fillLogs();
}

function createLog(ev) {
  ev.preventDefault();
  const input = $('n-stream');
  clearError(input);
  const stream = input.value.trim();
  if (!stream) { showError(input, new Error('a stream name, e.g. line-b/telemetry')); return; }
  busy($('n-create'), async () => {
    const log = await api('POST', '/v1/logs', { stream });
    input.value = '';
    await changed(log.log_id); // the notice once the log is selectable below
    $('a-result').replaceChildren(h('span', { class: 'notice' }, `Log ${log.stream} created (empty): append records to it.`));
  }, input);
}

function appendFile(ev) {
  ev.preventDefault();
  const select = $('a-log');
  const fileInput = $('a-file');
  const result = $('a-result');
  clearError(select);
  clearError(fileInput);
  const file = fileInput.files[0];
  if (!select.value) { showError(select, new Error('create a log first')); return; }
  if (!file) { showError(fileInput, new Error('choose a file of records')); return; }
  if (file.size > MAX_BYTES) { showError(fileInput, new Error(`${file.name} is ${(file.size / 1048576).toFixed(1)} MiB: split it (64 MiB per file)`)); return; }
  busy($('a-send'), async () => {
    result.replaceChildren(h('span', { class: 'muted' }, `Sending ${file.name} (${file.size.toLocaleString('en')} bytes)…`));
    const started = performance.now();
    let out;
    try {
      out = await api('POST', `/v1/logs/${select.value}/records`, file, { contentType: await contentTypeOf(file) });
    } catch (e) {
      result.replaceChildren(h('span', { class: 'muted' }, `Nothing from ${file.name} was stored.`));
      throw e;
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    result.replaceChildren(h('span', { class: 'notice', 'data-testid': 'append-result' },
      `${file.name}: appended ${out.appended.toLocaleString('en')}, already stored ${out.duplicates.toLocaleString('en')}; `
      + `the log now has ${out.size.toLocaleString('en')} records (${seconds} s). Anchoring follows in the background, or press "Anchor now".`));
    fileInput.value = '';
    await changed(select.value);
  }, fileInput);
}
