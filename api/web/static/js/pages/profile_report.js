// A dpl-profile/1 (docs/PROFILE.md) as a credit officer's report: who and what period, the flags
// first (each naming its figure and threshold), the headline figures, then charts drawn as inline
// SVG (daily output, utilisation per machine, sales by customer, a machine × day heat map of
// cross-source mismatch). Every figure says where it comes from: "declared by the factory" until
// the lender verified it, then "recomputed from N disclosed records" (or, for a figure that
// differs, what the records give). Text from the profile is only ever a text node (h(), and
// shown() for names and messages): never HTML. Used by the factory page (preview) and the lender
// page (disclosures). The number helpers are pure and importable by `node --test`.
import { h } from '../dom.js';
import { fmtAmount } from '../format.js';
import { shown } from '../verify/pyfmt.js';
import { niceScale } from './factory/activity.js';

// ------------------------------------------------------------------ numbers, as people read them

/** An integer figure (a JSON integer, or its decimal text beyond 2^53) with thousands separators; "—" for none. */
export function fmtCount(v) {
  if (v === null || v === undefined) return '—';
  try { return BigInt(v).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ','); } catch { return String(v); }
}

/** A 6-decimal ratio ("0.012300") as a percentage with 2 decimals, exactly ("1.23 %"); "—" for null. */
export function percent(ratio) {
  if (ratio === null || ratio === undefined) return '—';
  const m = /^(-?)(\d+)\.(\d{6})$/.exec(String(ratio));
  if (!m) return String(ratio);
  // ×100 moves the point two places: "0.012300" → "1.2300" → kept to 2 decimals (truncation of
  // the last two digits is exact only when they are 0; otherwise round half-even on the digits)
  const digits = BigInt(m[2] + m[3]); // ratio × 10^6
  const hundredths = digits / 100n, rest = digits % 100n; // percent × 100 = ratio × 10^4
  const up = rest > 50n || (rest === 50n && hundredths % 2n === 1n);
  const v = hundredths + (up ? 1n : 0n);
  const text = `${v / 100n}.${String(v % 100n).padStart(2, '0')}`;
  return `${m[1] && v !== 0n ? '-' : ''}${text} %`;
}

/** A 6-decimal ratio as a plain decimal with its zeros trimmed ("0.241000" → "0.241"); "—" for null. */
export function decimal(ratio) {
  if (ratio === null || ratio === undefined) return '—';
  return String(ratio).replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
}

/** Seconds as people say them: "90000 s (25 h 0 min)". */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  const s = Number(seconds);
  if (!Number.isFinite(s)) return String(seconds);
  const hours = Math.floor(s / 3600), minutes = Math.floor((s % 3600) / 60);
  return `${fmtCount(seconds)} s (${hours ? `${hours} h ` : ''}${minutes} min)`;
}

/** |a − b| / max(a, b) of a machine-day (for the heat map's colour only; the exact figure is the profile's). */
export function dayMismatch(iot, mes) {
  const a = Number(iot), b = Number(mes);
  const top = Math.max(a, b);
  return top > 0 ? Math.abs(a - b) / top : 0;
}

/** Does figure `path` differ, given the differing paths (a figure differs when it or a part of it does)? */
export function differs(path, differing) {
  for (const d of differing) {
    if (d === path || d.startsWith(`${path}.`) || d.startsWith(`${path}[`)) return true;
  }
  return false;
}

/** What a figure rests on, in words: the provenance label shown beside every figure. */
export function provenanceText(provenance) {
  if (provenance?.kind === 'recomputed') return `recomputed from ${fmtCount(provenance.records)} disclosed records`;
  if (provenance?.kind === 'differs') return `declared by the factory; NOT what ${fmtCount(provenance.records)} disclosed records give`;
  return 'declared by the factory';
}

// ------------------------------------------------------------------ figures and their labels

/**
 * Renders one profile. `provenance`: {kind: 'declared'} (default), or {kind: 'recomputed',
 * records: N} after a SOUND verification, or {kind: 'differs', records: N, differences:
 * [{figure, recomputed}]} after a NOT SOUND one (the figures named are marked; `recomputed` is
 * the value's JSON text, shown beside the figure).
 */
export function profileReport(profile, { provenance = { kind: 'declared' }, title = null } = {}) {
  const differing = (provenance.differences || []).map((d) => d.figure);
  const recomputed = new Map((provenance.differences || []).map((d) => [d.figure, d.recomputed]));
  /** A figure: its value, and the label of where it comes from (data-figure names its JSON path). */
  const fig = (path, text) => {
    const bad = provenance.kind === 'differs' && differs(path, differing);
    const kind = bad ? 'differs' : provenance.kind === 'recomputed' ? 'recomputed' : 'declared';
    const label = bad
      ? `NOT what the records give${recomputed.has(path) ? `: recomputed ${shown(String(recomputed.get(path)))}` : ''}`
      : provenanceText(kind === 'recomputed' ? provenance : { kind: 'declared' });
    return h('span', { class: `figure ${kind}`, 'data-figure': path, 'data-provenance': kind },
      h('span', { class: 'value' }, text), ' ', h('small', { class: 'prov' }, label));
  };
  const p = profile;
  const sections = [
    header(p, title, provenance),
    flagsSection(p),
    headline(p, fig),
    chartsSection(p, provenance),
    productsSection(p, fig),
  ].filter(Boolean);
  return h('article', { class: 'profile-report', 'data-testid': 'profile-report', 'data-provenance': provenance.kind }, sections);
}

function section(key, heading, ...content) {
  const id = `pr-${key}-${Math.random().toString(36).slice(2, 8)}`;
  return h('section', { class: `report-section ${key}`, 'data-section': key, 'aria-labelledby': id },
    h('h3', { id }, heading), ...content);
}

function header(p, title, provenance) {
  const c = p.coverage || {};
  const banner = provenance.kind === 'recomputed'
    ? h('p', { class: 'provenance ok', 'data-testid': 'provenance' },
      `Every figure below was recomputed in this browser from ${fmtCount(provenance.records)} disclosed records and matches the factory's.`)
    : provenance.kind === 'differs'
      ? h('p', { class: 'provenance bad', 'data-testid': 'provenance' },
        `${(provenance.differences || []).length} figure(s) are NOT what the disclosed records give: they are marked below.`)
      : h('p', { class: 'provenance', 'data-testid': 'provenance' },
        'Every figure below is declared by the factory until you verify it against the disclosed records.');
  return h('header', { class: 'report-head' },
    h('h2', {}, title || `Production profile: ${shown(p.stream)}`),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Log'), h('dd', {}, h('b', {}, shown(p.stream)), ' ', h('code', {}, p.log_id)),
      h('dt', {}, 'Records'), h('dd', {}, `[${fmtCount(p.range?.from)}, ${fmtCount(p.range?.to)}) of the checkpoint of size `
        + `${fmtCount(p.checkpoint?.size)}`),
      h('dt', {}, 'Checkpoint root'), h('dd', {}, h('code', {}, p.checkpoint?.root)),
      h('dt', {}, 'Period'), h('dd', {}, `${shown(String(c.first_ts ?? '—'))} to ${shown(String(c.last_ts ?? '—'))} (days at ${p.tz})`)),
    banner);
}

function flagsSection(p) {
  const flags = Array.isArray(p.flags) ? p.flags : [];
  const body = flags.length
    ? h('ol', { class: 'flags', 'data-testid': 'flags' }, flags.map((f) => h('li', { class: 'flag', 'data-code': f.code, 'data-figure': f.figure },
      h('b', {}, shown(String(f.message))), h('br'),
      h('small', {}, 'figure ', h('code', {}, shown(String(f.figure))), ` = ${shown(String(f.value))}, threshold ${shown(String(f.threshold))}`,
        ` (${shown(String(f.code))})`))))
    : h('p', { class: 'notice', 'data-testid': 'no-flags' }, 'No flags: no figure passed its threshold.');
  return section('flags', `Flags (${flags.length})`, body);
}

function tile(label, ...figures) {
  return h('div', { class: 'tile' }, h('div', { class: 'tile-label' }, label), ...figures.map((f) => h('div', {}, f)));
}

function headline(p, fig) {
  const c = p.coverage || {};
  const tiles = [
    tile('Records', fig('coverage.records', fmtCount(c.records))),
    tile('Days with records', fig('coverage.days', fmtCount(c.days))),
    tile('Days without records', fig('coverage.days_without_records', fmtCount(c.days_without_records))),
    tile('Longest gap', fig('coverage.longest_gap_s', duration(c.longest_gap_s))),
  ];
  if (p.mes) {
    tiles.push(
      tile('Output (good units)', fig('mes.qty_good', fmtCount(p.mes.qty_good))),
      tile('Scrap rate', fig('mes.scrap_rate', percent(p.mes.scrap_rate))),
      tile('Plan attainment', fig('mes.plan_attainment', percent(p.mes.plan_attainment))),
    );
  }
  if (p.iot) {
    const machines = Object.entries(p.iot.machines || {});
    tiles.push(tile('Utilisation', ...machines.map(([m, v]) => h('span', {}, `${shown(m)}: `,
      fig(`iot.machines.${m}.utilization`, percent(v.utilization))))));
  }
  if (p.sales) {
    for (const [cur, v] of Object.entries(p.sales.by_currency || {})) {
      tiles.push(tile(`Sales in ${shown(cur)}`, fig(`sales.by_currency.${cur}.amount_minor`, fmtAmount(v.amount_minor, shown(cur))),
        h('span', {}, 'top-1 share ', fig(`sales.by_currency.${cur}.top1_share`, percent(v.top1_share))),
        h('span', {}, 'HHI ', fig(`sales.by_currency.${cur}.hhi`, decimal(v.hhi)))));
    }
  }
  const x = p.cross_source;
  if (x) {
    const worst = x.worst ? h('span', {}, 'worst: ', fig('cross_source.worst',
      `${shown(x.worst.machine)} on ${shown(String(x.worst.day))}: IoT ${fmtCount(x.worst.iot_parts)}, MES ${fmtCount(x.worst.mes_units)} (${percent(x.worst.mismatch)})`)) : null;
    tiles.push(tile('Cross-source mismatch (IoT vs MES)', fig('cross_source.mismatch', percent(x.mismatch)), worst));
  }
  if (p.trend) {
    tiles.push(tile('Output variation (CV)', fig('trend.output_cv', decimal(p.trend.output_cv))),
      tile('Output growth', fig('trend.output_growth', percent(p.trend.output_growth))));
  }
  return section('headline', 'Headline figures', h('div', { class: 'tiles', 'data-testid': 'headline' }, tiles));
}

function productsSection(p, fig) {
  const products = Object.entries(p.cross_source?.by_product || {});
  if (!products.length) return null;
  const rows = products.map(([name, v]) => h('tr', {}, h('td', {}, shown(name)),
    h('td', {}, fig(`cross_source.by_product.${name}.mes_good`, fmtCount(v.mes_good))),
    h('td', {}, fig(`cross_source.by_product.${name}.erp_qty`, fmtCount(v.erp_qty))),
    h('td', {}, fig(`cross_source.by_product.${name}.ratio`, decimal(v.ratio)))));
  return section('products', 'Made (MES) against sold (ERP), per product',
    h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {},
      ['Product', 'Made, good (MES)', 'Ordered (ERP)', 'Made / ordered'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows))));
}

// ------------------------------------------------------------------ charts (inline SVG, no library)

const SVG = 'http://www.w3.org/2000/svg';
function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}
const INK = '#5b6570', GRID = '#d8dde3', GOOD = '#0b57d0', SCRAP = '#b3261e', IOT = '#e8710a';

function svgRoot(width, height, titleText, descText, kind) {
  const id = `chart-${Math.random().toString(36).slice(2)}`;
  // the kind names a currency for a sales chart: an attribute value only, never a class ("EUR no-print")
  return s('svg', { class: 'report-chart', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-labelledby': `${id}-t ${id}-d`, 'data-chart': kind },
  s('title', { id: `${id}-t` }, titleText), s('desc', { id: `${id}-d` }, descText));
}

function chartFigure(kind, caption, provenance, svg, legend = null) {
  return h('figure', { class: 'chart-figure', 'data-testid': `chart-${kind}` },
    h('figcaption', {}, h('b', {}, caption), ' ', h('small', { class: 'prov' }, provenanceText(provenance))),
    h('div', { class: 'chart-scroll', tabindex: '0', 'aria-label': `${caption}, scrolls sideways` }, svg), legend);
}

function legendOf(items) {
  return h('ul', { class: 'legend' }, items.map(([label, colour]) => {
    const swatch = h('i', { 'aria-hidden': 'true' });
    swatch.style.background = colour;
    return h('li', {}, swatch, label);
  }));
}

/** Good and scrap units a day (stacked bars), the IoT parts counted that day as dots. */
export function dailyOutputChart(daily, provenance) {
  const bar = 14, gap = 6, left = 52, right = 8, top = 10, plot = 160, bottom = 30;
  const width = Math.max(240, left + Math.max(daily.length, 1) * (bar + gap) + right), height = top + plot + bottom;
  const num = (v) => Number(v ?? 0);
  const max = Math.max(0, ...daily.map((d) => num(d.mes_good) + num(d.mes_scrap)), ...daily.map((d) => num(d.iot_parts)));
  const { top: yTop, step } = niceScale(max);
  const y = (v) => top + plot - (v / yTop) * plot;
  const svg = svgRoot(width, height, 'Daily output', `${daily.length} days from ${daily[0]?.day ?? '—'} to ${daily.at(-1)?.day ?? '—'}; `
    + `good and scrap units reported by MES, parts counted by IoT; at most ${max} a day.`, 'daily-output');
  for (let v = 0; v <= yTop; v += step) {
    svg.append(s('line', { x1: left, x2: width - right, y1: y(v), y2: y(v), stroke: GRID }),
      s('text', { x: left - 6, y: y(v) + 4, 'text-anchor': 'end', 'font-size': 11, fill: INK }, fmtCount(v)));
  }
  const every = Math.max(2, Math.ceil(daily.length / 12));
  daily.forEach((d, i) => {
    const x = left + i * (bar + gap) + gap / 2;
    const good = num(d.mes_good), scrap = num(d.mes_scrap), parts = num(d.iot_parts);
    const g = s('g', { class: 'day', 'data-day': d.day });
    if (good) g.append(s('rect', { x, y: y(good), width: bar, height: Math.max(1, y(0) - y(good)), fill: GOOD }, s('title', {}, `${d.day} · good: ${fmtCount(d.mes_good)}`)));
    if (scrap) g.append(s('rect', { x, y: y(good + scrap), width: bar, height: Math.max(1, y(good) - y(good + scrap)), fill: SCRAP }, s('title', {}, `${d.day} · scrap: ${fmtCount(d.mes_scrap)}`)));
    if (parts) g.append(s('circle', { cx: x + bar / 2, cy: y(parts), r: 3, fill: IOT }, s('title', {}, `${d.day} · IoT parts: ${fmtCount(d.iot_parts)}`)));
    svg.append(g);
    if (i % every === 0) svg.append(s('text', { x: x + bar / 2, y: top + plot + 14, 'text-anchor': 'middle', 'font-size': 10, fill: INK }, d.day.slice(5)));
  });
  svg.append(s('line', { x1: left, x2: width - right, y1: y(0), y2: y(0), stroke: INK }));
  return chartFigure('daily-output', 'Daily output', provenance, svg,
    legendOf([['good (MES)', GOOD], ['scrap (MES)', SCRAP], ['parts counted (IoT)', IOT]]));
}

/** Horizontal bars from 0 to 100 %: one per label, with a dashed line at `mark` (a threshold). */
function barsChart(kind, titleText, rows, { mark = null, markLabel = '', valueText, colour = GOOD }) {
  const labelW = 150, plotW = 320, right = 90, rowH = 22, top = 8;
  const width = labelW + plotW + right, height = top + rows.length * rowH + 22;
  const svg = svgRoot(width, height, titleText, rows.map((r) => `${r.label}: ${valueText(r)}`).join('; ') || 'nothing to show', kind);
  const x = (f) => labelW + Math.max(0, Math.min(1, f)) * plotW;
  rows.forEach((r, i) => {
    const yy = top + i * rowH;
    const g = s('g', { class: 'bar', 'data-label': r.label });
    g.append(s('text', { x: labelW - 6, y: yy + 15, 'text-anchor': 'end', 'font-size': 12, fill: '#1b1f24' }, r.label.length > 22 ? `${r.label.slice(0, 21)}…` : r.label),
      s('rect', { x: labelW, y: yy + 4, width: Math.max(1, x(r.fraction) - labelW), height: rowH - 8, fill: colour }, s('title', {}, `${r.label}: ${valueText(r)}`)),
      s('text', { x: x(r.fraction) + 4, y: yy + 15, 'font-size': 11, fill: INK }, valueText(r)));
    svg.append(g);
  });
  const base = top + rows.length * rowH;
  svg.append(s('line', { x1: labelW, x2: labelW + plotW, y1: base, y2: base, stroke: INK }),
    s('text', { x: labelW, y: base + 14, 'font-size': 10, fill: INK }, '0'),
    s('text', { x: labelW + plotW, y: base + 14, 'font-size': 10, fill: INK, 'text-anchor': 'end' }, '100 %'));
  if (mark !== null) {
    svg.append(s('line', { x1: x(mark), x2: x(mark), y1: top, y2: base, stroke: SCRAP, 'stroke-dasharray': '4 3' }),
      s('text', { x: x(mark), y: base + 14, 'font-size': 10, fill: SCRAP, 'text-anchor': 'middle' }, markLabel));
  }
  return svg;
}

export function utilisationChart(iot, thresholds, provenance) {
  const rows = Object.entries(iot.machines || {}).map(([m, v]) => ({ label: shown(m), fraction: v.utilization === null ? 0 : Number(v.utilization), v }));
  const limit = thresholds?.min_utilization;
  const svg = barsChart('utilisation', 'Utilisation per machine (share of readings running)', rows, {
    mark: limit ? Number(limit) : null, markLabel: limit ? `min ${percent(limit)}` : '',
    valueText: (r) => `${percent(r.v.utilization)} of ${fmtCount(r.v.readings)}`,
  });
  return chartFigure('utilisation', 'Utilisation per machine', provenance, svg);
}

const TOP_CUSTOMERS = 10;

export function salesChart(sales, provenance) {
  const figures = Object.entries(sales.by_currency || {}).map(([code, v]) => {
    const cur = shown(code); // a currency as written in the records: any text
    const total = BigInt(v.amount_minor ?? 0);
    const customers = Object.entries(v.by_customer || {}).map(([name, amount]) => [name, BigInt(amount)])
      .sort((a, b) => (a[1] === b[1] ? (a[0] < b[0] ? -1 : 1) : a[1] > b[1] ? -1 : 1));
    const shownRows = customers.slice(0, TOP_CUSTOMERS);
    const rest = customers.slice(TOP_CUSTOMERS).reduce((a, [, x]) => a + x, 0n);
    if (rest > 0n) shownRows.push([`${customers.length - TOP_CUSTOMERS} others`, rest]);
    const rows = shownRows.map(([name, amount]) => ({ label: shown(name), amount,
      fraction: total > 0n ? Number((amount * 1000000n) / total) / 1e6 : 0 }));
    const svg = barsChart(`sales-${cur}`, `Sales by customer in ${cur}`, rows, {
      valueText: (r) => fmtAmount(r.amount, cur), colour: '#137333' });
    return chartFigure(`sales-${cur}`, `Sales by customer, ${cur} (share of ${fmtAmount(total, cur)})`, provenance, svg);
  });
  return figures;
}

/** Machine × day: each cell coloured by |IoT − MES| / max(IoT, MES); grey where neither counted. */
export function heatMap(cross, daily, provenance) {
  const byMachine = cross.by_machine_day || {};
  const machines = Object.keys(byMachine);
  const days = daily.map((d) => d.day);
  const cell = 22, left = 110, top = 8, bottom = 34;
  const width = Math.max(240, left + days.length * cell + 8), height = top + machines.length * cell + bottom;
  const svg = svgRoot(width, height, 'Cross-source mismatch per machine and day',
    `${machines.length} machines over ${days.length} days; colour: IoT parts against MES units, from green (agree) to red (half or more apart).`, 'heat-map');
  machines.forEach((m, r) => {
    svg.append(s('text', { x: left - 6, y: top + r * cell + 15, 'text-anchor': 'end', 'font-size': 12, fill: '#1b1f24' }, shown(m)));
    days.forEach((day, c) => {
      const pair = byMachine[m]?.[day];
      const label = `${shown(m)} · ${shown(String(day))}`;
      const attrs = { x: left + c * cell + 1, y: top + r * cell + 1, width: cell - 2, height: cell - 2, 'data-machine': m, 'data-day': day };
      if (!pair) {
        svg.append(s('rect', { ...attrs, fill: '#eef1f4' }, s('title', {}, `${label}: nothing counted`)));
        return;
      }
      const f = dayMismatch(pair[0], pair[1]);
      svg.append(s('rect', { ...attrs, fill: heatColour(f), 'data-mismatch': f.toFixed(6) },
        s('title', {}, `${label}: IoT ${fmtCount(pair[0])} parts, MES ${fmtCount(pair[1])} units (${(f * 100).toFixed(1)} % apart)`)));
    });
  });
  const every = Math.max(2, Math.ceil(days.length / 14));
  days.forEach((day, c) => {
    if (c % every === 0) svg.append(s('text', { x: left + c * cell + cell / 2, y: top + machines.length * cell + 14, 'text-anchor': 'middle', 'font-size': 10, fill: INK }, day.slice(5)));
  });
  return chartFigure('heat-map', 'Cross-source mismatch, machine × day (IoT parts against MES units)', provenance, svg,
    legendOf([['agree', heatColour(0)], ['10 % apart', heatColour(0.1)], ['25 % apart', heatColour(0.25)], ['50 % or more', heatColour(0.5)], ['nothing counted', '#eef1f4']]));
}

/** Green (0) through amber to red (≥ 0.5). */
export function heatColour(f) {
  const t = Math.max(0, Math.min(1, f / 0.5));
  const hue = Math.round(130 * (1 - t));
  return `hsl(${hue}, 65%, ${Math.round(45 + 10 * (1 - t))}%)`;
}

function chartsSection(p, provenance) {
  const charts = [];
  const daily = Array.isArray(p.daily) ? p.daily : [];
  if (daily.length) charts.push(dailyOutputChart(daily, provenance));
  if (p.iot && Object.keys(p.iot.machines || {}).length) charts.push(utilisationChart(p.iot, p.thresholds, provenance));
  if (p.sales) charts.push(...salesChart(p.sales, provenance));
  if (p.cross_source && Object.keys(p.cross_source.by_machine_day || {}).length) charts.push(heatMap(p.cross_source, daily, provenance));
  if (!charts.length) return null;
  return section('charts', 'Charts', h('div', { class: 'chart-grid' }, charts));
}
