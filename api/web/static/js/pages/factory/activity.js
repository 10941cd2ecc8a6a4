// Records per day and type, per log: a stacked-bar chart (SVG) with a legend and the counts as a table.
import { api, errorText } from '../../api.js';
import { h, table } from '../../dom.js';
import { state } from './state.js';

const COLOURS = ['#0b57d0', '#e8710a', '#137333', '#9334e6', '#b3261e', '#00838f', '#7a5901', '#5b6570'];

const SVG = 'http://www.w3.org/2000/svg';
function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** A round top for the y axis (1, 2 or 5 times a power of ten) and its step. */
export function niceScale(max) {
  if (max <= 0) return { top: 1, step: 1 };
  const raw = max / 4;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((v) => v >= raw);
  return { top: Math.ceil(max / step) * step, step };
}

/** Stacked bars, one per day, one colour per type; each segment names its day, type and count. */
export function activityChart(activity, title) {
  const { days, types } = activity;
  const colour = Object.fromEntries(types.map((t, i) => [t, COLOURS[i % COLOURS.length]]));
  const bar = 14, gap = 6, left = 44, right = 8, top = 10, plot = 180, bottom = 34;
  // at least wide enough for the axis title, however few the days
  const width = Math.max(200, left + Math.max(days.length, 1) * (bar + gap) + right);
  const height = top + plot + bottom;
  const totals = days.map((d) => Object.values(d.counts).reduce((a, b) => a + b, 0));
  const { top: yTop, step } = niceScale(Math.max(0, ...totals));
  const y = (v) => top + plot - (v / yTop) * plot;
  const id = 'chart-' + Math.random().toString(36).slice(2);
  const svg = s('svg', {
    class: 'activity-chart', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-labelledby': `${id}-t ${id}-d`,
  },
  s('title', { id: `${id}-t` }, title),
  s('desc', { id: `${id}-d` }, `${days.length} days from ${days[0]?.day ?? '—'} to ${days.at(-1)?.day ?? '—'}; `
    + `types ${types.join(', ')}; at most ${Math.max(0, ...totals)} records a day.`));
  for (let v = 0; v <= yTop; v += step) {
    svg.append(s('line', { x1: left, x2: width - right, y1: y(v), y2: y(v), stroke: '#d8dde3', 'stroke-width': 1 }),
      s('text', { x: left - 6, y: y(v) + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#5b6570' }, v));
  }
  // a day label (MM-DD) is ~30 px wide, a bar and its gap 20: label every other bar at least
  const every = Math.max(Math.ceil(34 / (bar + gap)), Math.ceil(days.length / 12));
  days.forEach((d, i) => {
    const x = left + i * (bar + gap) + gap / 2;
    const g = s('g', { class: 'day', 'data-day': d.day });
    let acc = 0;
    for (const t of types) {
      const n = d.counts[t] || 0;
      if (!n) continue;
      g.append(s('rect', { x, y: y(acc + n), width: bar, height: Math.max(1, y(acc) - y(acc + n)), fill: colour[t],
        'data-type': t }, s('title', {}, `${d.day} · ${t}: ${n}`)));
      acc += n;
    }
    svg.append(g);
    if (i % every === 0) {
      svg.append(s('text', { x: x + bar / 2, y: top + plot + 14, 'text-anchor': 'middle', 'font-size': 10, fill: '#5b6570' },
        d.day.slice(5)));
    }
  });
  svg.append(s('line', { x1: left, x2: width - right, y1: top + plot, y2: top + plot, stroke: '#5b6570' }));
  svg.append(s('text', { x: left, y: height - 4, 'font-size': 10, fill: '#5b6570' }, 'day (MM-DD, UTC)'));
  const legend = h('ul', { class: 'legend', 'aria-label': 'Record types' },
    types.map((t) => {
      const swatch = h('i', { 'aria-hidden': 'true' });
      swatch.style.background = colour[t];
      return h('li', { 'data-type': t }, swatch, t);
    }));
  const asTable = h('details', {}, h('summary', {}, 'The counts as a table'),
    table(['Day', ...types, 'Total'], days.map((d, i) => h('tr', {}, h('td', {}, d.day),
      types.map((t) => h('td', {}, d.counts[t] || 0)), h('td', {}, totals[i])))));
  return h('figure', { class: 'activity stack' },
    h('div', { class: 'chart-scroll', tabindex: '0', 'aria-label': 'chart, scrolls sideways' }, svg), legend, asTable);
}

export async function renderActivity(box) {
  const { logs } = state;
  if (!logs.length) { box.replaceChildren(h('p', { class: 'muted' }, 'No logs yet.')); return; }
  const parts = await Promise.all(logs.map(async (log) => {
    try {
      const a = await api('GET', `/v1/logs/${log.log_id}/activity`);
      if (!a.days.length) return h('div', {}, h('h3', {}, log.stream), h('p', { class: 'muted' }, 'No records yet.'));
      return h('div', { 'data-log': log.stream }, h('h3', {}, log.stream),
        h('p', { class: 'muted' }, `Records ${a.from}–${a.to - 1}.`),
        activityChart(a, `Records per day and type, ${log.stream}`));
    } catch (e) {
      return h('p', { class: 'error', role: 'alert' }, `${log.stream}: ${errorText(e)}`);
    }
  }));
  box.replaceChildren(...parts);
}
