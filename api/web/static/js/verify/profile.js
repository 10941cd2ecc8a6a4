// The production profile `dpl-profile/1` (docs/PROFILE.md §1-6), as ledger/profile.py computes it:
// the same object, so the same RFC 8785 bytes. Pure, no DOM: runs in Node and the browser.
// The hot path (add) keeps to Numbers where they are exact (safe integers); ratios, roots and
// big sums are exact BigInt rationals, rounded half-even to 6 decimals once, in result().
import { BundleError } from './errors.js';
import {
  addInt, intOut, intIn, ratio, rootRatio, decimalOf, decimalOfText, compareCodePoints,
  dayText, weekText, isoWeek, tzOffsetMs, instantMs, dayOf,
} from './exact.js';

export const PROFILE_FORMAT = 'dpl-profile/1';
export const MAPPING_FORMAT = 'dpl-mapping/1';

export const DEFAULT_THRESHOLDS = Object.freeze({
  max_gap_s: 21600,
  stoppage_s: 28800,
  worst_min_units: 50,
  temp_c_max: '85',
  vibration_mm_s_max: '4.5',
  min_utilization: '0.500000',
  max_over_limit: '0.050000',
  max_scrap_rate: '0.050000',
  min_plan_attainment: '0.900000',
  max_top1_share: '0.500000',
  max_worst_mismatch: '0.100000',
  max_mismatch: '0.050000',
  min_product_ratio: '0.800000',
});
const INT_THRESHOLDS = ['max_gap_s', 'stoppage_s', 'worst_min_units'];
const DECIMAL_THRESHOLDS = ['temp_c_max', 'vibration_mm_s_max'];
const RATIO_THRESHOLDS = ['min_utilization', 'max_over_limit', 'max_scrap_rate', 'min_plan_attainment',
  'max_top1_share', 'max_worst_mismatch', 'max_mismatch', 'min_product_ratio'];

const MES = 'mes.work_order', IOT = 'iot.telemetry', ERP = 'erp.sales_order';
export const PROFILED_FIELDS = Object.freeze({
  [MES]: ['product', 'qty_good', 'qty_scrap', 'qty_planned', 'machine'],
  [IOT]: ['machine', 'state', 'parts_total', 'power_kw', 'temp_c', 'vibration_mm_s'],
  [ERP]: ['customer', 'currency', 'amount_minor', 'lines'],
});

const DECIMAL_TEXT = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$/;
const RATIO_TEXT = /^-?(?:0|[1-9][0-9]*)\.[0-9]{6}$/;

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const isCount = (v) => Number.isSafeInteger(v) && v >= 0;
const isNum = (v) => typeof v === 'number' && Number.isFinite(v);
const shownValue = (v) => (typeof v === 'string' ? JSON.stringify(v) : v === undefined ? 'nothing' : JSON.stringify(v));
const fail = (msg) => { throw new BundleError(msg); };
const own = (o, k) => Object.prototype.hasOwnProperty.call(o, k);

// ------------------------------------------------------------------ inputs

/** The profile's `tz` (`±HH:MM`, default `+00:00`); throws BundleError otherwise. */
export function checkTz(tz) {
  if (tz === undefined || tz === null) return '+00:00';
  if (tzOffsetMs(tz) === null) fail(`tz must be an offset ±HH:MM (e.g. +08:00), not ${shownValue(tz)}`);
  return tz;
}

/** A `dpl-mapping/1` object or null; throws BundleError naming what is wrong. */
export function checkMapping(mapping) {
  if (mapping === undefined || mapping === null) return null;
  if (!isObject(mapping)) fail('mapping must be an object or null');
  for (const k of Object.keys(mapping)) if (k !== 'format' && k !== 'types') fail(`mapping: unexpected field ${JSON.stringify(k)}`);
  if (mapping.format !== MAPPING_FORMAT) fail(`mapping.format must be ${JSON.stringify(MAPPING_FORMAT)}`);
  if (!isObject(mapping.types)) fail('mapping.types must be an object');
  const sources = new Set();
  for (const [type, spec] of Object.entries(mapping.types)) {
    const where = `mapping.types.${type}`;
    if (!own(PROFILED_FIELDS, type)) fail(`${where}: only ${Object.keys(PROFILED_FIELDS).join(', ')} can be mapped`);
    if (!isObject(spec)) fail(`${where} must be an object`);
    for (const k of Object.keys(spec)) if (k !== 'type' && k !== 'fields') fail(`${where}: unexpected field ${JSON.stringify(k)}`);
    if (own(spec, 'type')) {
      if (typeof spec.type !== 'string' || spec.type === '') fail(`${where}.type must be a non-empty string`);
      if (sources.has(spec.type)) fail(`${where}.type: ${JSON.stringify(spec.type)} is mapped twice`);
      sources.add(spec.type);
    }
    if (own(spec, 'fields')) {
      if (!isObject(spec.fields)) fail(`${where}.fields must be an object`);
      for (const [field, key] of Object.entries(spec.fields)) {
        if (!PROFILED_FIELDS[type].includes(field)) fail(`${where}.fields: ${JSON.stringify(field)} is not a field of ${type}`);
        if (typeof key !== 'string' || key === '') fail(`${where}.fields.${field} must be a non-empty string`);
      }
    }
  }
  return mapping;
}

/** The thresholds (missing ones take their defaults); throws BundleError naming a wrong one. */
export function checkThresholds(thresholds) {
  if (thresholds === undefined || thresholds === null) return { ...DEFAULT_THRESHOLDS };
  if (!isObject(thresholds)) fail('thresholds must be an object');
  for (const k of Object.keys(thresholds)) if (!own(DEFAULT_THRESHOLDS, k)) fail(`thresholds: unexpected field ${JSON.stringify(k)}`);
  const out = { ...DEFAULT_THRESHOLDS, ...thresholds };
  for (const k of INT_THRESHOLDS) if (!isCount(out[k])) fail(`thresholds.${k} must be an integer >= 0`);
  for (const k of DECIMAL_THRESHOLDS) if (typeof out[k] !== 'string' || !DECIMAL_TEXT.test(out[k])) fail(`thresholds.${k} must be a decimal string`);
  for (const k of RATIO_THRESHOLDS) if (typeof out[k] !== 'string' || !RATIO_TEXT.test(out[k])) fail(`thresholds.${k} must be a decimal string with 6 decimals`);
  return out;
}

/** sourceType -> {type, key: {field: data key}} of a checked mapping. */
function compileMapping(mapping) {
  const kinds = new Map();
  const mapped = mapping ? mapping.types : {};
  for (const type of Object.keys(PROFILED_FIELDS)) {
    const spec = mapped[type] || {};
    const fields = spec.fields || {};
    const key = {};
    for (const f of PROFILED_FIELDS[type]) key[f] = own(fields, f) ? fields[f] : f;
    kinds.set(own(spec, 'type') ? spec.type : type, { type, key });
  }
  // A mapped type's own name is no longer profiled (unless another type is mapped from it).
  return kinds;
}

// ------------------------------------------------------------------ the builder

class Day {
  constructor() { this.records = 0; this.mesGood = 0; this.mesScrap = 0; this.iotParts = 0; this.sales = new Map(); }
}

class Machine {
  constructor() { this.ms = []; this.idx = []; this.running = []; this.parts = []; this.power = []; this.temp = []; this.vib = []; this.ordered = true; }
}

const bump = (map, key, v) => map.set(key, addInt(map.get(key) ?? 0, v));

export class ProfileBuilder {
  constructor({ tz, mapping, thresholds } = {}) {
    this.tz = checkTz(tz);
    this.tzMs = tzOffsetMs(this.tz);
    this.mapping = checkMapping(mapping);
    this.thresholds = checkThresholds(thresholds);
    this.kinds = compileMapping(this.mapping);
    this.n = 0;
    this.types = new Map();
    this.instants = [];
    this.ordered = true;
    this.lastMs = -Infinity; this.lastIndex = -Infinity;
    this.first = null; this.last = null; // [ms, index, ts]
    this.days = new Map();
    this.mes = null; this.iot = null; this.sales = null;
  }

  _day(ms) {
    const z = dayOf(ms, this.tzMs);
    let d = this.days.get(z);
    if (d === undefined) { d = new Day(); this.days.set(z, d); }
    return d;
  }

  /** Count one record of the range (as parsed from its canonical bytes). */
  add(index, record) {
    const ms = instantMs(record.ts);
    if (ms === null) fail(`record ${index}: ts is not an RFC 3339 timestamp`);
    this.n += 1;
    const type = record.type;
    this.types.set(type, (this.types.get(type) ?? 0) + 1);
    this.instants.push(ms);
    if (ms < this.lastMs || (ms === this.lastMs && index < this.lastIndex)) this.ordered = false;
    this.lastMs = ms; this.lastIndex = index;
    if (this.first === null || ms < this.first[0] || (ms === this.first[0] && index < this.first[1])) this.first = [ms, index, record.ts];
    if (this.last === null || ms > this.last[0] || (ms === this.last[0] && index > this.last[1])) this.last = [ms, index, record.ts];
    const day = this._day(ms);
    day.records += 1;
    const kind = this.kinds.get(type);
    if (kind === undefined) return;
    const data = isObject(record.data) ? record.data : {};
    if (kind.type === MES) this._mes(kind.key, data, ms, day);
    else if (kind.type === IOT) this._iot(kind.key, data, ms, index);
    else this._sales(kind.key, data, day);
  }

  _mes(key, data, ms, day) {
    const m = this.mes ??= { orders: 0, skipped: 0, good: 0, scrap: 0, planned: 0, products: new Map(), units: new Map() };
    const product = data[key.product], good = data[key.qty_good], scrap = data[key.qty_scrap], planned = data[key.qty_planned];
    if (typeof product !== 'string' || !isCount(good) || !isCount(scrap) || !isCount(planned)) { m.skipped += 1; return; }
    m.orders += 1;
    m.good = addInt(m.good, good); m.scrap = addInt(m.scrap, scrap); m.planned = addInt(m.planned, planned);
    let p = m.products.get(product);
    if (p === undefined) { p = { orders: 0, good: 0, scrap: 0, planned: 0 }; m.products.set(product, p); }
    p.orders += 1; p.good = addInt(p.good, good); p.scrap = addInt(p.scrap, scrap); p.planned = addInt(p.planned, planned);
    day.mesGood = addInt(day.mesGood, good); day.mesScrap = addInt(day.mesScrap, scrap);
    const machine = data[key.machine];
    if (typeof machine === 'string') {
      let byDay = m.units.get(machine);
      if (byDay === undefined) { byDay = new Map(); m.units.set(machine, byDay); }
      bump(byDay, dayOf(ms, this.tzMs), addInt(good, scrap));
    }
  }

  _iot(key, data, ms, index) {
    const t = this.iot ??= { readings: 0, skipped: 0, machines: new Map() };
    const machine = data[key.machine], state = data[key.state], total = data[key.parts_total];
    if (typeof machine !== 'string' || typeof state !== 'string' || !isCount(total)) { t.skipped += 1; return; }
    t.readings += 1;
    let m = t.machines.get(machine);
    if (m === undefined) { m = new Machine(); t.machines.set(machine, m); }
    const k = m.ms.length;
    if (k && (ms < m.ms[k - 1] || (ms === m.ms[k - 1] && index < m.idx[k - 1]))) m.ordered = false;
    m.ms.push(ms); m.idx.push(index); m.running.push(state === 'running'); m.parts.push(total);
    const power = data[key.power_kw], temp = data[key.temp_c], vib = data[key.vibration_mm_s];
    m.power.push(isNum(power) ? power : null);
    m.temp.push(isNum(temp) ? temp : null);
    m.vib.push(isNum(vib) ? vib : null);
  }

  _sales(key, data, day) {
    const s = this.sales ??= { orders: 0, skipped: 0, currencies: new Map(), skus: new Map() };
    const customer = data[key.customer], currency = data[key.currency], amount = data[key.amount_minor];
    if (typeof customer !== 'string' || typeof currency !== 'string' || !isCount(amount)) { s.skipped += 1; return; }
    s.orders += 1;
    let c = s.currencies.get(currency);
    if (c === undefined) { c = { orders: 0, amount: 0, customers: new Map() }; s.currencies.set(currency, c); }
    c.orders += 1; c.amount = addInt(c.amount, amount);
    bump(c.customers, customer, amount);
    bump(day.sales, currency, amount);
    const lines = data[key.lines];
    if (Array.isArray(lines)) {
      for (const line of lines) {
        if (isObject(line) && typeof line.sku === 'string' && isCount(line.qty)) bump(s.skus, line.sku, line.qty);
      }
    }
  }

  /** The profile object (RFC 8785 gives its bytes); logId and checkpointRoot as 0x hex. */
  result({ logId, stream, start, end, checkpointSize, checkpointRoot }) {
    if (end - start !== this.n) fail(`the range [${start}, ${end}) has ${end - start} records, ${this.n} were given`);
    const th = this.thresholds;
    this._ex = { machines: new Map(), top1: new Map(), products: new Map() }; // exact figures the flags compare
    const coverage = this._coverage(start, end);
    const iotDays = new Map(); // machine -> day -> parts (day of the later reading)
    const iot = this.iot && this._iotSection(iotDays);
    const mes = this.mes && this._mesSection();
    const sales = this.sales && this._salesSection();
    const cross = (this.iot || this.mes) ? this._cross(iotDays) : null;
    const dayNums = [...this.days.keys()].sort((a, b) => a - b);
    const daily = dayNums.map((z) => {
      const d = this.days.get(z);
      return { day: dayText(z), records: d.records, mes_good: intOut(d.mesGood), mes_scrap: intOut(d.mesScrap),
        iot_parts: intOut(d.iotParts), sales_minor: salesOut(d.sales) };
    });
    const profile = {
      format: PROFILE_FORMAT, log_id: logId, stream, range: { from: start, to: end },
      checkpoint: { size: checkpointSize, root: checkpointRoot },
      tz: this.tz, mapping: this.mapping, thresholds: { ...th },
      coverage, mes, iot, sales, cross_source: cross,
      daily, weekly: this._weekly(dayNums), trend: this._trend(dayNums),
    };
    profile.flags = flagsOf(profile, this._ex, th);
    return profile;
  }

  _coverage() {
    let gap = 0;
    if (this.n > 1) {
      const xs = this.ordered ? this.instants : Float64Array.from(this.instants).sort();
      for (let i = 1; i < xs.length; i++) if (xs[i] - xs[i - 1] > gap) gap = xs[i] - xs[i - 1];
    }
    const dayNums = [...this.days.keys()];
    const span = dayNums.length ? Math.max(...dayNums) - Math.min(...dayNums) + 1 : 0;
    const types = {};
    for (const [t, c] of this.types) types[t] = c;
    return {
      records: this.n, first_ts: this.first ? this.first[2] : null, last_ts: this.last ? this.last[2] : null,
      days: dayNums.length, days_without_records: span - dayNums.length, longest_gap_s: Math.floor(gap / 1000), types,
    };
  }

  _mesSection() {
    const m = this.mes;
    const by = {};
    for (const [product, p] of m.products) {
      by[product] = { orders: p.orders, qty_good: intOut(p.good), qty_scrap: intOut(p.scrap), qty_planned: intOut(p.planned),
        scrap_rate: ratio(p.scrap, addInt(p.good, p.scrap)), plan_attainment: ratio(p.good, p.planned) };
    }
    this._ex.scrap = [BigInt(m.scrap), BigInt(addInt(m.good, m.scrap))];
    this._ex.plan = [BigInt(m.good), BigInt(m.planned)];
    return { orders: m.orders, qty_good: intOut(m.good), qty_scrap: intOut(m.scrap), qty_planned: intOut(m.planned),
      scrap_rate: ratio(m.scrap, addInt(m.good, m.scrap)), plan_attainment: ratio(m.good, m.planned), skipped: m.skipped, by_product: by };
  }

  _iotSection(iotDays) {
    const th = this.thresholds;
    const tempMax = thresholdDecimal(th.temp_c_max), vibMax = thresholdDecimal(th.vibration_mm_s_max);
    const machines = {};
    for (const [name, m] of this.iot.machines) {
      let order = null;
      if (!m.ordered) {
        order = m.ms.map((_, i) => i).sort((a, b) => (m.ms[a] - m.ms[b]) || (m.idx[a] - m.idx[b]));
      }
      const at = order ? (arr, i) => arr[order[i]] : (arr, i) => arr[i];
      const n = m.ms.length;
      let running = 0, parts = 0, resets = 0, stop = 0, lastRun = null;
      const energy = new Map(); // exponent -> sum of coefficient x ms
      const byDay = new Map();
      const firstMs = at(m.ms, 0), lastMs = at(m.ms, n - 1);
      for (let i = 0; i < n; i++) {
        const ms = at(m.ms, i);
        if (at(m.running, i)) {
          running += 1;
          const since = lastRun === null ? firstMs : lastRun;
          if (ms - since > stop) stop = ms - since;
          lastRun = ms;
        }
        if (i > 0) {
          const prev = at(m.parts, i - 1), cur = at(m.parts, i);
          let inc;
          if (cur >= prev) inc = cur - prev; else { inc = cur; resets += 1; }
          if (inc > 0) {
            parts = addInt(parts, inc);
            bump(byDay, dayOf(ms, this.tzMs), inc);
          }
          const pw = at(m.power, i - 1);
          if (pw !== null) {
            const { c, e } = decimalOf(pw);
            const dt = ms - at(m.ms, i - 1);
            energy.set(e, (energy.get(e) ?? 0n) + c * BigInt(dt));
          }
        }
      }
      if (lastRun === null) stop = lastMs - firstMs;
      else if (lastMs - lastRun > stop) stop = lastMs - lastRun;
      for (const [z, v] of byDay) { const d = this.days.get(z); d.iotParts = addInt(d.iotParts, v); }
      iotDays.set(name, byDay);
      // energy = sum(c * 10^e * ms) / 3 600 000 as one fraction num / den.
      let num = 0n, den = 3600000n;
      if (energy.size) {
        const emin = Math.min(...energy.keys());
        for (const [e, s] of energy) num += s * 10n ** BigInt(e - emin);
        if (emin < 0) den *= 10n ** BigInt(-emin); else num *= 10n ** BigInt(emin);
      }
      const bigParts = BigInt(parts);
      machines[name] = {
        readings: n, running, utilization: ratio(running, n), parts: intOut(parts), resets,
        energy_kwh: ratio(num, den), energy_per_part: bigParts === 0n ? null : ratio(num, den * bigParts),
        longest_stop_s: Math.floor(stop / 1000),
        temp_c: health(m.temp, tempMax), vibration_mm_s: health(m.vib, vibMax),
      };
      this._ex.machines.set(name, { utilization: [BigInt(running), BigInt(n)],
        temp_c: machines[name].temp_c && machines[name].temp_c.over, vibration_mm_s: machines[name].vibration_mm_s && machines[name].vibration_mm_s.over });
      for (const k of ['temp_c', 'vibration_mm_s']) if (machines[name][k]) delete machines[name][k].over;
    }
    return { readings: this.iot.readings, skipped: this.iot.skipped, machines };
  }

  _salesSection() {
    const by = {};
    for (const [currency, c] of this.sales.currencies) {
      const amounts = [...c.customers.values()].map(BigInt).sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
      const total = BigInt(c.amount);
      const top5 = amounts.slice(0, 5).reduce((a, b) => a + b, 0n);
      const squares = amounts.reduce((a, b) => a + b * b, 0n);
      if (total !== 0n) this._ex.top1.set(currency, [amounts[0], total]);
      const customers = {};
      for (const [name, v] of c.customers) customers[name] = intOut(v);
      by[currency] = {
        orders: c.orders, amount_minor: intOut(c.amount), customers: c.customers.size,
        top1_share: total === 0n ? null : ratio(amounts[0], total),
        top5_share: total === 0n ? null : ratio(top5, total),
        hhi: total === 0n ? null : ratio(squares, total * total),
        by_customer: customers,
      };
    }
    return { orders: this.sales.orders, skipped: this.sales.skipped, by_currency: by };
  }

  _cross(iotDays) {
    const th = this.thresholds;
    const pairs = new Map(); // machine -> day -> [iot, mes]
    const put = (machine, z, slot, v) => {
      let byDay = pairs.get(machine);
      if (byDay === undefined) { byDay = new Map(); pairs.set(machine, byDay); }
      let p = byDay.get(z);
      if (p === undefined) { p = [0, 0]; byDay.set(z, p); }
      p[slot] = addInt(p[slot], v);
    };
    for (const [machine, byDay] of iotDays) for (const [z, v] of byDay) if (v > 0) put(machine, z, 0, v);
    if (this.mes) for (const [machine, byDay] of this.mes.units) for (const [z, v] of byDay) if (v > 0) put(machine, z, 1, v);
    let iotSum = 0n, mesSum = 0n, diff = 0n, most = 0n, count = 0;
    let worst = null; // [diff, max, day, machine, iot, mes]
    const minUnits = BigInt(th.worst_min_units);
    const heat = {};
    for (const [machine, byDay] of pairs) {
      const row = heat[machine] = {};
      for (const [z, [a, b]] of byDay) {
        const x = BigInt(a), y = BigInt(b);
        const d = x > y ? x - y : y - x, mx = x > y ? x : y;
        iotSum += x; mesSum += y; diff += d; most += mx; count += 1;
        row[dayText(z)] = [intOut(a), intOut(b)];
        if (mx >= minUnits && mx > 0n) {
          const better = worst === null || (() => {
            const l = d * worst[1], r = worst[0] * mx;
            if (l !== r) return l > r;
            if (z !== worst[2]) return z < worst[2];
            return compareCodePoints(machine, worst[3]) < 0;
          })();
          if (better) worst = [d, mx, z, machine, a, b];
        }
      }
    }
    const byProduct = {};
    const names = new Set([...(this.mes ? this.mes.products.keys() : []), ...(this.sales ? this.sales.skus.keys() : [])]);
    for (const name of names) {
      const good = this.mes?.products.get(name)?.good ?? 0, qty = this.sales?.skus.get(name) ?? 0;
      this._ex.products.set(name, [BigInt(good), BigInt(qty)]);
      byProduct[name] = { mes_good: intOut(good), erp_qty: intOut(qty), ratio: ratio(good, qty) };
    }
    this._ex.mismatch = [diff, most];
    this._ex.worst = worst && [worst[0], worst[1]];
    return {
      pairs: count, iot_parts: intOut(iotSum), mes_units: intOut(mesSum), mismatch: ratio(diff, most),
      worst: worst && { machine: worst[3], day: dayText(worst[2]), iot_parts: intOut(worst[4]), mes_units: intOut(worst[5]),
        mismatch: ratio(worst[0], worst[1]) },
      by_machine_day: heat, by_product: byProduct,
    };
  }

  _weekly(dayNums) {
    const weeks = new Map();
    for (const z of dayNums) {
      const [y, w] = isoWeek(z);
      const key = y * 100 + w;
      let e = weeks.get(key);
      if (e === undefined) { e = { z, days: 0, records: 0, good: 0, scrap: 0, parts: 0, sales: new Map() }; weeks.set(key, e); }
      const d = this.days.get(z);
      e.days += 1; e.records += d.records; e.good = addInt(e.good, d.mesGood); e.scrap = addInt(e.scrap, d.mesScrap);
      e.parts = addInt(e.parts, d.iotParts);
      for (const [c, v] of d.sales) bump(e.sales, c, v);
    }
    return [...weeks.keys()].sort((a, b) => a - b).map((k) => {
      const e = weeks.get(k);
      return { week: weekText(e.z), days: e.days, records: e.records, mes_good: intOut(e.good), mes_scrap: intOut(e.scrap),
        iot_parts: intOut(e.parts), sales_minor: salesOut(e.sales) };
    });
  }

  _trend(dayNums) {
    const series = (get) => dayNums.map((z) => BigInt(get(this.days.get(z))));
    const currencies = this.sales ? [...this.sales.currencies.keys()] : [];
    const salesCv = {}, salesGrowth = {};
    for (const c of currencies) {
      const get = (d) => d.sales.get(c) ?? 0;
      salesCv[c] = cv(series(get));
      salesGrowth[c] = growth(dayNums, (z) => BigInt(get(this.days.get(z))));
    }
    return {
      output_cv: cv(series((d) => d.mesGood)),
      output_growth: growth(dayNums, (z) => BigInt(this.days.get(z).mesGood)),
      sales_cv: salesCv, sales_growth: salesGrowth,
    };
  }
}

function salesOut(map) {
  const out = {};
  for (const [c, v] of map) out[c] = intOut(v);
  return out;
}

function thresholdDecimal(text) {
  return { text, number: Number(text), dec: decimalOfText(text) };
}

/** {readings, p50, p95, max, over_limit} of the readings that have the number, or null. */
function health(values, limit) {
  const xs = [];
  for (const v of values) if (v !== null) xs.push(v);
  if (!xs.length) return null;
  const sorted = Float64Array.from(xs).sort();
  const n = sorted.length;
  const rank = (p) => sorted[Math.ceil((p * n) / 100) - 1];
  let over = 0;
  const t = limit.number, near = Math.abs(t) * 1e-15 + 5e-324;
  for (const v of xs) {
    if (Math.abs(v - t) <= near) { if (compareDecimal(v, limit.dec) > 0) over += 1; } else if (v > t) over += 1;
  }
  return { readings: n, p50: rank(50), p95: rank(95), max: sorted[n - 1], over_limit: ratio(over, n), over: [BigInt(over), BigInt(n)] };
}

function compareDecimal(v, dec) {
  const x = decimalOf(v);
  let a = x.c, b = dec.c;
  if (x.e > dec.e) a *= 10n ** BigInt(x.e - dec.e); else b *= 10n ** BigInt(dec.e - x.e);
  return a === b ? 0 : a < b ? -1 : 1;
}

/** Coefficient of variation of integers (BigInts): sqrt(n Σx² − (Σx)²) / Σx, or null. */
function cv(xs) {
  const n = BigInt(xs.length);
  if (n < 2n) return null;
  let s = 0n, ss = 0n;
  for (const x of xs) { s += x; ss += x * x; }
  if (s === 0n) return null;
  return rootRatio(n * ss - s * s, s * s);
}

/** (G_last − G_first) / G_first over the first and last 7 calendar days, or null. */
function growth(dayNums, valueOf) {
  if (!dayNums.length) return null;
  const first = dayNums[0], last = dayNums[dayNums.length - 1];
  if (last - first + 1 < 14) return null;
  let g0 = 0n, g1 = 0n;
  for (const z of dayNums) {
    if (z <= first + 6) g0 += valueOf(z);
    if (z >= last - 6) g1 += valueOf(z);
  }
  return g0 === 0n ? null : ratio(g1 - g0, g0);
}

// ------------------------------------------------------------------ flags

const millionthsOf = (text) => BigInt(text.replace('.', '')); // a 6-decimal threshold in millionths

/** -1, 0 or 1: the exact ratio [n, d] (d > 0) against a 6-decimal threshold text. */
function cmpRatio([n, d], text) {
  const l = n * 1000000n, r = millionthsOf(text) * d;
  return l === r ? 0 : l < r ? -1 : 1;
}

const byFigure = (a, b) => compareCodePoints(a.figure, b.figure);

/** The flags of a profile (§4 "flags"): in the table's order, then by figure path. */
function flagsOf(p, ex, th) {
  const out = [];
  const group = (items) => { items.sort(byFigure); out.push(...items); };
  const flag = (code, figure, value, threshold, message) => ({ code, message, figure, value: String(value), threshold: String(threshold) });
  const c = p.coverage;
  if (c.longest_gap_s > th.max_gap_s) {
    out.push(flag('gap', 'coverage.longest_gap_s', c.longest_gap_s, th.max_gap_s,
      `The log has a gap of ${c.longest_gap_s} s with no record (more than ${th.max_gap_s} s).`));
  }
  if (c.days_without_records > 0) {
    out.push(flag('days_without_records', 'coverage.days_without_records', c.days_without_records, 0,
      `${c.days_without_records} day(s) between the first and the last record have no record.`));
  }
  const machines = p.iot ? Object.keys(p.iot.machines) : [];
  group(machines.filter((m) => p.iot.machines[m].longest_stop_s > th.stoppage_s).map((m) => flag('stoppage',
    `iot.machines.${m}.longest_stop_s`, p.iot.machines[m].longest_stop_s, th.stoppage_s,
    `Machine ${m} had no running reading for ${p.iot.machines[m].longest_stop_s} s (more than ${th.stoppage_s} s).`)));
  group(machines.filter((m) => cmpRatio(ex.machines.get(m).utilization, th.min_utilization) < 0).map((m) => flag('low_utilization',
    `iot.machines.${m}.utilization`, p.iot.machines[m].utilization, th.min_utilization,
    `Machine ${m} was running in ${p.iot.machines[m].utilization} of its readings (less than ${th.min_utilization}).`)));
  const health = [];
  for (const m of machines) {
    for (const k of ['temp_c', 'vibration_mm_s']) {
      const over = ex.machines.get(m)[k];
      if (over && cmpRatio(over, th.max_over_limit) > 0) {
        health.push(flag('device_health', `iot.machines.${m}.${k}.over_limit`, p.iot.machines[m][k].over_limit, th.max_over_limit,
          `Machine ${m}: ${p.iot.machines[m][k].over_limit} of its ${k} readings are over the limit (more than ${th.max_over_limit}).`));
      }
    }
  }
  group(health);
  if (ex.scrap && ex.scrap[1] !== 0n && cmpRatio(ex.scrap, th.max_scrap_rate) > 0) {
    out.push(flag('high_scrap', 'mes.scrap_rate', p.mes.scrap_rate, th.max_scrap_rate,
      `The scrap rate is ${p.mes.scrap_rate} (more than ${th.max_scrap_rate}).`));
  }
  if (ex.plan && ex.plan[1] !== 0n && cmpRatio(ex.plan, th.min_plan_attainment) < 0) {
    out.push(flag('plan_shortfall', 'mes.plan_attainment', p.mes.plan_attainment, th.min_plan_attainment,
      `Plan attainment is ${p.mes.plan_attainment} (less than ${th.min_plan_attainment}).`));
  }
  group([...ex.top1].filter(([, f]) => cmpRatio(f, th.max_top1_share) > 0).map(([cur]) => flag('customer_concentration',
    `sales.by_currency.${cur}.top1_share`, p.sales.by_currency[cur].top1_share, th.max_top1_share,
    `In ${cur}, the largest customer has ${p.sales.by_currency[cur].top1_share} of sales (more than ${th.max_top1_share}).`)));
  const cross = [];
  if (ex.worst && cmpRatio(ex.worst, th.max_worst_mismatch) > 0) {
    const w = p.cross_source.worst;
    cross.push(flag('cross_source_mismatch', 'cross_source.worst.mismatch', w.mismatch, th.max_worst_mismatch,
      `Machine ${w.machine} on ${w.day}: IoT counted ${w.iot_parts} parts, MES reported ${w.mes_units} units (mismatch ${w.mismatch}, more than ${th.max_worst_mismatch}).`));
  }
  if (ex.mismatch && ex.mismatch[1] !== 0n && cmpRatio(ex.mismatch, th.max_mismatch) > 0) {
    cross.push(flag('cross_source_mismatch', 'cross_source.mismatch', p.cross_source.mismatch, th.max_mismatch,
      `IoT parts and MES units differ by ${p.cross_source.mismatch} over all machine-days (more than ${th.max_mismatch}).`));
  }
  group(cross);
  group([...ex.products].filter(([, f]) => f[1] !== 0n && cmpRatio(f, th.min_product_ratio) < 0).map(([name]) => flag('product_mismatch',
    `cross_source.by_product.${name}.ratio`, p.cross_source.by_product[name].ratio, th.min_product_ratio,
    `Product ${name}: MES made ${p.cross_source.by_product[name].mes_good}, ERP sold ${p.cross_source.by_product[name].erp_qty} (ratio ${p.cross_source.by_product[name].ratio}, less than ${th.min_product_ratio}).`)));
  group(['mes', 'iot', 'sales'].filter((s) => p[s] && p[s].skipped > 0).map((s) => flag('skipped_records',
    `${s}.skipped`, p[s].skipped, 0, `${p[s].skipped} ${s} record(s) lack a required field and were skipped.`)));
  return out;
}

/** The profile of `records` (an iterable of [index, record] in index order). */
export function buildProfile(records, { tz, mapping, thresholds, logId, stream, start, end, checkpointSize, checkpointRoot } = {}) {
  const b = new ProfileBuilder({ tz, mapping, thresholds });
  for (const [index, record] of records) b.add(index, record);
  return b.result({ logId, stream, start, end, checkpointSize, checkpointRoot });
}
