// Lender page, "Re-check evidence" of a covenant warning (docs/COVENANTS.md §5, as `dpl monitor
// recheck --rpc` does): a disclosure naming this lender that covers the warning's window is
// downloaded, the warning recomputed from its records with the monitor's rules
// (verify/covenant_evidence.js, the covenants and pledged profile of the consent the lender issued
// the pledge from), then its checkpoint checked on chain through the lender's JSON-RPC URL and the
// registry it trusts (the Disclosures section's fields; verify/profile_chain.js). The consent comes
// from the service, so its covenants and pledged profile are held to the pledge's terms read on
// chain through the same registry (`covenantsDigest`, `assetDigest`), as `dpl monitor recheck`
// holds them to the consent's own digests. Every check is printed in the verifier's words; the
// warning stands only if all pass.
import { api } from '../../api.js';
import { busy, h } from '../../dom.js';
import { readPledge } from '../../verify/chain.js';
import { check, checkCovenantsDigest } from '../../verify/collateral.js';
import { recheckEvidence } from '../../verify/covenant_evidence.js';
import { toHex } from '../../verify/hex.js';
import { canonicalize } from '../../verify/jcs.js';
import { assetDigest } from '../../verify/manifest.js';
import { disclosureChainChecks } from '../../verify/profile_chain.js';
import { RpcClient } from '../../verify/rpc.js';
import { sha256 } from '../../verify/sha256.js';
import { registryCode, trustInputs } from './disclosures.js';

const WEEKLY = ['output_floor', 'cross_source_mismatch', 'scrap_ceiling', 'customer_concentration'];

/** The records [from, to) a disclosure must hold to re-check `w` (a weekly code needs the record after its window). */
export function neededRange(w) {
  return { from: w.window.from, to: w.window.to + (WEEKLY.includes(w.code) ? 1 : 0) };
}

/** The smallest live disclosure in `list` of log `logId` holding `neededRange(w)` at `w`'s checkpoint or a later one, or null. */
export function coveringDisclosure(w, logId, list) {
  const need = neededRange(w);
  const fits = (d) => !d.revoked_at && String(d.log_id).toLowerCase() === String(logId).toLowerCase()
    && d.range.from <= need.from && d.range.to >= need.to && d.checkpoint_size >= w.checkpoint.size;
  return list.filter(fits).sort((a, b) => (a.range.to - a.range.from) - (b.range.to - b.range.from))[0] ?? null;
}

/**
 * The consent's covenants and pledged profile against pledge `tokenId`'s terms on chain (the
 * registry `trust` names): [covenants, pledged profile] checks, or one failed `pledge` check.
 */
export async function pledgeTermsChecks(tokenId, consent, trust) {
  const pledge = await readPledge(new RpcClient(trust.rpcUrl, { fetch: trust.fetch }), trust.registry, tokenId);
  if (!pledge) return [check('pledge', false, `registry ${trust.registry} has no pledge ${tokenId}`)];
  const digest = toHex(await assetDigest(consent.manifest)), pledged = toHex(pledge.terms.assetDigest);
  return [
    checkCovenantsDigest(await sha256(canonicalize(consent.covenants)), pledge.terms.covenantsDigest, 'the consent'),
    check('pledged profile', digest === pledged, digest === pledged
      ? `the consent's manifest (its profile the baseline) is the asset pledge ${tokenId} pledges: ${digest}`
      : `the consent's manifest hashes to ${digest}, pledge ${tokenId} pledges ${pledged}: not the pledged profile`),
  ];
}

function checksList(checks) {
  return h('ul', { class: 'checks' }, checks.map((c) => h('li', { class: c.ok ? 'ok' : 'bad', 'data-check': c.name, 'data-ok': String(c.ok) },
    h('span', { class: 'name' }, `${c.ok ? '✓' : '✗'} ${c.name}`), ' — ', h('span', { class: 'detail' }, c.detail))));
}

/**
 * The "Re-check evidence" control of warning `w` of pledge `p` (its log id and stream), given the
 * consent document the pledge was issued from (`null` when this lender does not keep it).
 * Returns the nodes for the warning's button row.
 */
export function recheckAction(p, w, consent) {
  if (w.code === 'anchoring_cadence') {
    return [h('p', { class: 'muted', 'data-testid': `recheck-${w.id}-none` }, 'Judged on block time, not on records: no '
      + 'disclosure re-checks it (look on the chain at the block that anchored the checkpoint and the later blocks).')];
  }
  const covenants = consent?.covenants, pledgedProfile = consent?.manifest?.profile;
  if (!covenants || !pledgedProfile) {
    return [h('p', { class: 'muted', 'data-testid': `recheck-${w.id}-none` }, 'The consent this pledge was issued from is not '
      + 'among yours (a pledge transferred to you): re-check on the command line with it, dpl monitor recheck --consent FILE.')];
  }
  const button = h('button', { type: 'button', class: 'secondary', id: `recheck-${w.id}` }, 'Re-check evidence');
  const progress = h('p', { class: 'muted', 'data-testid': `recheck-${w.id}-progress`, hidden: true });
  const result = h('div', { class: 'recheck-result', 'aria-live': 'polite', 'data-testid': `recheck-${w.id}-result` });
  button.addEventListener('click', () => busy(button, async () => {
    result.replaceChildren();
    const trust = trustInputs();
    if (!trust) return;
    const need = neededRange(w);
    const d = coveringDisclosure(w, p.log_id, await api('GET', '/v1/disclosures'));
    if (!d) {
      result.replaceChildren(h('p', { class: 'notice', 'data-testid': `recheck-${w.id}-ask` }, 'No disclosure you have '
        + `covers this warning: ask the factory to disclose records [${need.from}, ${need.to}) of log ${p.stream || ''} `
        + `${p.log_id} at checkpoint ${w.checkpoint.size} or later (its "Disclose this window to the lender…").`));
      return;
    }
    progress.hidden = false;
    progress.textContent = `Downloading disclosure #${d.id} (records [${d.range.from}, ${d.range.to}))…`;
    const response = await api('GET', `/v1/disclosures/${d.id}/document`, undefined, { raw: true });
    const bytes = new Uint8Array(await response.arrayBuffer());
    const v = await recheckEvidence(w, bytes, { covenants, pledgedProfile, onProgress: ({ done, total }) => {
      progress.textContent = `Disclosure #${d.id}: ${done.toLocaleString('en')} of ${total.toLocaleString('en')} records checked`;
    } });
    const chain = v.verified ? await disclosureChainChecks(v.verified, { ...trust, registryCode: await registryCode() }) : [];
    const checks = [...v.checks, ...chain, ...await pledgeTermsChecks(p.token_id, consent, trust)];
    const stands = checks.every((c) => c.ok);
    progress.textContent = `From disclosure #${d.id} (records [${d.range.from}, ${d.range.to}), checkpoint ${d.checkpoint_size}), `
      + `checked against ${trust.rpcUrl}, trusting registry ${trust.registry}.`;
    result.replaceChildren(
      h('p', { class: `verdict ${stands ? 'ok' : 'bad'}`, 'data-testid': `recheck-${w.id}-verdict` },
        stands ? 'the warning stands' : `the warning does not stand: ${checks.filter((c) => !c.ok).map((c) => c.name).join(', ')}`),
      checksList(checks));
  }, result));
  return [button, h('div', { class: 'recheck' }, progress, result)];
}
