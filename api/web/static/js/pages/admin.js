// Admin page: parties (list, create), API keys (list by prefix, create: shown once, revoke
// after a confirm step), the registry's approved lenders (list, approve, withdraw) and its
// factory directory (list, set, remove).
import { api, controlFor, errorText } from '../api.js';
import { badge, busy, clearError, copyButton, h, short, showError, table, txLink } from '../dom.js';
import { fmtTime } from '../format.js';
import { shownName } from '../verify/pyfmt.js';

const $ = (id) => document.getElementById(id);
let parties = [];

function failed(box, what, e) {
  box.replaceChildren(h('p', { class: 'error', role: 'alert' },
    `${what} could not be read: ${errorText(e)}`));
}

function said(p, text) {
  p.hidden = false;
  p.replaceChildren(...[text].flat());
}

/** A button that asks once more in place ("Yes, …" / "Cancel") before `work` runs. */
function confirmed(label, question, yes, work) {
  const cell = h('div', { class: 'confirm row' });
  const ask = h('button', { type: 'button', class: 'secondary' }, label);
  const reset = () => cell.replaceChildren(ask);
  ask.addEventListener('click', () => {
    const go = h('button', { type: 'button', class: 'danger' }, yes);
    const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
    cancel.addEventListener('click', reset);
    go.addEventListener('click', () => busy(go, async () => { await work(); }));
    cell.replaceChildren(h('span', {}, question), go, cancel);
    go.focus();
  });
  reset();
  return cell;
}

// --- parties -------------------------------------------------------------------------------

async function loadParties() {
  const box = $('parties');
  try {
    parties = await api('GET', '/v1/parties');
  } catch (e) {
    failed(box, 'Parties', e);
    return;
  }
  box.replaceChildren(table(['Name', 'Role', 'Address', 'Custody'], parties.map((p) => h('tr', { 'data-party': p.name },
    h('td', {}, p.name), h('td', {}, badge(p.role, 'role-' + p.role)), h('td', {}, p.address ? short(p.address, 8) : '—'),
    h('td', {}, p.custodial ? 'the service signs' : 'signs itself'))), { class: 'parties' }));
  const select = $('k-party');
  const chosen = select.value;
  select.replaceChildren(...parties.map((p) => h('option', { value: p.name, selected: p.name === chosen }, `${p.name} (${p.role})`)));
}

const partyControls = { name: $('p-name'), role: $('p-role'), address: $('p-address'), key_name: $('p-key') };
const PARTY_HINTS = [[/^key |keyring|no key/i, 'key_name'], [/address/i, 'address'], [/named|name/i, 'name'], [/role/i, 'role']];

$('party-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const button = $('p-create');
  for (const c of [...Object.values(partyControls), button]) clearError(c);
  $('party-done').hidden = true;
  const body = { name: partyControls.name.value.trim(), role: partyControls.role.value };
  if (partyControls.address.value.trim()) body.address = partyControls.address.value.trim();
  if (partyControls.key_name.value.trim()) body.key_name = partyControls.key_name.value.trim();
  button.disabled = true;
  try {
    const p = await api('POST', '/v1/parties', body);
    said($('party-done'), [`Party ${p.name} (${p.role}) created${p.address ? ' with address ' : ''}`,
      p.address ? h('code', {}, p.address) : '', '. Create an API key for it below.']);
    event.target.reset();
    await loadParties();
    $('k-party').value = p.name;
  } catch (e) {
    showError(controlFor(e, partyControls, button, PARTY_HINTS), e);
  } finally {
    button.disabled = false;
  }
});

// --- API keys --------------------------------------------------------------------------------

async function loadKeys() {
  const box = $('keys');
  let keys;
  try {
    keys = await api('GET', '/v1/keys');
  } catch (e) {
    failed(box, 'API keys', e);
    return;
  }
  keys.sort((a, b) => (b.created_at || '').localeCompare(a.created_at || ''));
  box.replaceChildren(table(['Prefix', 'Party', 'Created', 'State', ''], keys.map((k) => h('tr', { 'data-prefix': k.prefix },
    h('td', {}, h('code', {}, k.prefix)), h('td', {}, k.party), h('td', {}, fmtTime(k.created_at)),
    h('td', {}, k.revoked_at ? badge(`revoked ${fmtTime(k.revoked_at)}`, 'revoked') : badge('active', 'ok')),
    h('td', {}, k.revoked_at ? '' : confirmed('Revoke', `Revoke ${k.prefix}?`, 'Yes, revoke', async () => {
      await api('DELETE', `/v1/keys/${encodeURIComponent(k.prefix)}`);
      await loadKeys();
    })))), { class: 'keys' }));
}

$('key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const button = $('k-create');
  busy(button, async () => {
    const party = $('k-party').value;
    if (!party) throw new Error('choose a party first');
    const out = await api('POST', `/v1/parties/${encodeURIComponent(party)}/keys`);
    const code = h('code', { 'data-testid': 'new-key' }, out.key);
    const box = h('div', { class: 'key-once stack', role: 'status' },
      h('b', {}, `New API key for ${out.party} (prefix ${out.prefix})`),
      h('p', {}, 'Copy it now: it is shown this once and cannot be read again (only its hash is kept). '
        + 'Anyone holding it acts as this party; revoke it below if it leaks.'),
      code,
      h('div', { class: 'row' }, copyButton(out.key, 'Copy key', code),
        h('button', { type: 'button', class: 'secondary', onclick: () => $('new-key').replaceChildren() }, 'I have stored it: hide')));
    $('new-key').replaceChildren(box);
    await loadKeys();
  });
});

// --- approved lenders -------------------------------------------------------------------------

async function loadLenders() {
  const box = $('lenders');
  let lenders;
  try {
    lenders = await api('GET', '/v1/lenders');
  } catch (e) {
    failed(box, 'Approved lenders', e);
    return;
  }
  const nameOf = (a) => parties.find((p) => p.address && p.address.toLowerCase() === a.toLowerCase())?.name;
  box.replaceChildren(lenders.length ? table(['Party', 'Address', ''], lenders.map((a) => h('tr', { 'data-lender': a, 'data-party': nameOf(a) || '' },
    h('td', {}, nameOf(a) || h('span', { class: 'muted' }, 'no party')), h('td', {}, h('code', {}, a)),
    h('td', {}, confirmed('Withdraw', `Withdraw ${nameOf(a) || short(a).textContent}?`, 'Yes, withdraw', async () => {
      const out = await api('DELETE', `/v1/lenders/${encodeURIComponent(a)}`);
      said($('lender-done'), [`Approval of ${nameOf(a) || a} withdrawn; transaction `, txLink(out.tx_hash), '.']);
      await loadLenders();
    })))), { class: 'lenders' })
    : h('p', { class: 'muted' }, 'No approved lenders: approve one below.'));
}

$('lender-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const who = $('l-who');
  busy($('l-approve'), async () => {
    $('lender-done').hidden = true;
    if (!who.value.trim()) throw new Error('enter a lender party name or an address');
    const out = await api('POST', '/v1/lenders', { address: who.value.trim() });
    said($('lender-done'), out.tx_hash ? [`${who.value.trim()} (${out.address}) approved; transaction `, txLink(out.tx_hash), '.']
      : `${who.value.trim()} (${out.address}) was approved already.`);
    who.value = '';
    await loadLenders();
  }, who);
});

// --- factory directory --------------------------------------------------------------------------

async function loadFactories() {
  const box = $('factories');
  let listed;
  try {
    listed = await api('GET', '/v1/factories');
  } catch (e) {
    failed(box, 'The factory directory', e);
    return;
  }
  const nameOf = (a) => parties.find((p) => p.address && p.address.toLowerCase() === a.toLowerCase())?.name;
  // a name is text read from the chain: shown escaped, as the verifiers print it
  box.replaceChildren(listed.length ? table(['Name', 'Party', 'Address', 'Registration (SHA-256)', ''], listed.map((f) => h('tr', { 'data-factory': f.address, 'data-party': nameOf(f.address) || '' },
    h('td', {}, shownName(f.name)), h('td', {}, nameOf(f.address) || h('span', { class: 'muted' }, 'no party')),
    h('td', {}, h('code', {}, f.address)), h('td', {}, short(f.registration_digest, 8)),
    h('td', {}, confirmed('Remove', `Remove ${shownName(f.name)}?`, 'Yes, remove', async () => {
      const out = await api('DELETE', `/v1/factories/${encodeURIComponent(f.address)}`);
      said($('factory-done'), out.tx_hash ? [`${shownName(f.name)} removed from the directory; transaction `, txLink(out.tx_hash), '.']
        : `${shownName(f.name)} was not listed.`);
      await loadFactories();
    })))), { class: 'factories' })
    : h('p', { class: 'muted' }, 'No factory is listed: list one below.'));
}

const factoryControls = { address: $('f-who'), name: $('f-name'), registration: $('f-registration') };
const FACTORY_HINTS = [[/registration/i, 'registration'], [/party|address/i, 'address'], [/name/i, 'name']];

$('factory-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const button = $('f-set');
  for (const c of [...Object.values(factoryControls), button]) clearError(c);
  $('factory-done').hidden = true;
  const who = factoryControls.address.value.trim();
  if (!who) return showError(factoryControls.address, new Error('enter a factory party name or an address'));
  button.disabled = true;
  try {
    const out = await api('PUT', `/v1/factories/${encodeURIComponent(who)}`,
      { name: factoryControls.name.value, registration: factoryControls.registration.value });
    said($('factory-done'), out.tx_hash ? [`${out.address} listed as ${shownName(out.name)}; transaction `, txLink(out.tx_hash), '.']
      : `${out.address} is listed so already.`);
    event.target.reset();
    await loadFactories();
  } catch (e) {
    showError(controlFor(e, factoryControls, button, FACTORY_HINTS), e);
  } finally {
    button.disabled = false;
  }
  return undefined;
});

await loadParties();
await Promise.all([loadKeys(), loadLenders(), loadFactories()]);
