// Factory page: its logs (size, root, anchor timeline, "Anchor now"), records per day and
// type as a stacked-bar chart, its pledges and consents, the consent form and the extension
// form, "Add records", the production profile (preview, disclose, revoke: profile.js), data-access
// grants (grants.js), the access log (access_log.js) and loan applications (applications.js). One
// module per feature; this one reads the logs and starts them.
import { api, errorText } from '../../api.js';
import { h } from '../../dom.js';
import { refresh, state } from './state.js';
import { logCard } from './logs.js';
import { renderActivity } from './activity.js';
import { renderConsents, renderExtensions, renderPledges } from './pledges.js';
import { fillDefaults, wireConsentForm } from './consent.js';
import { offerPledges, wireExtensionForm } from './extension.js';
import { wireRecords } from './records.js';
import { fillProfileForm, renderDisclosures, wireProfile } from './profile.js';
import { fillGrantForm, wireGrants } from './grants.js';
import { loadAccessLog } from './access_log.js';
import { fillApplyForm, wireApplications } from './applications.js';

const $ = (id) => document.getElementById(id);

async function start() {
  const logsBox = $('logs');
  try {
    state.logs = await api('GET', '/v1/logs');
  } catch (e) {
    logsBox.replaceChildren(h('p', { class: 'error', role: 'alert' }, `Logs could not be read: ${errorText(e)}`));
    return;
  }
  logsBox.replaceChildren(...(state.logs.length ? state.logs.map(logCard)
    : [h('p', { class: 'muted' }, 'No logs yet: create one under "Add records".')]));
  fillDefaults();
  fillProfileForm();
  fillGrantForm();
  fillApplyForm();
  loadAccessLog();
  refresh($('activity'), renderActivity, 'Activity');
  // the live ones are offered to the extension form
  refresh($('pledges'), async (box) => offerPledges((await renderPledges(box)).filter((p) => p.status === 'live')), 'Pledges');
  refresh($('consents'), renderConsents, 'Consents');
  refresh($('extensions'), renderExtensions, 'Extensions');
  refresh($('disclosures'), renderDisclosures, 'Disclosures');
}


wireConsentForm();
wireExtensionForm();
wireRecords();
wireProfile();
wireGrants();
wireApplications();
start();
// a log was created or records appended (records.js): show the new sizes, roots, charts
document.addEventListener('dpl:logs-changed', () => start());
