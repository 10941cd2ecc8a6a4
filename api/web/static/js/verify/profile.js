// The production profile `dpl-profile/1` (docs/PROFILE.md §1-6), as ledger/profile.py computes it:
// the same object, so the same RFC 8785 bytes. Pure, no DOM: runs in Node and the browser.
// The hot path (add) keeps to Numbers where they are exact (safe integers); ratios, roots and
// big sums are exact BigInt rationals, rounded half-even to 6 decimals once, in result().
import { BundleError } from './errors.js';
import { pyRepr } from './pyfmt.js';
import { pyType, floatValue, JsonFloat } from './json.js';
import { toHex, bytes32 } from './hex.js';
import {
  addInt, intOut, ratio, rootRatio, decimalOf, decimalOfText, compareToDecimal, compareCodePoints,
  dayText, weekText, isoWeek, tzOffsetMs, instantMs, dayOf, daysFromCivil,
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
/** The longest threshold string (ledger.profile.MAX_THRESHOLD_TEXT): it is read as an exact rational. */
const MAX_THRESHOLD_TEXT = 40;

const MES = 'mes.work_order', IOT = 'iot.telemetry', ERP = 'erp.sales_order';
export const PROFILED_FIELDS = Object.freeze({
  [MES]: ['product', 'qty_good', 'qty_scrap', 'qty_planned', 'machine'],
  [IOT]: ['machine', 'state', 'parts_total', 'power_kw', 'temp_c', 'vibration_mm_s'],
  [ERP]: ['customer', 'currency', 'amount_minor', 'lines'],
});

// The days a record's instant can fall on once an offset is applied: years 0001-9999 only (a record's
// instant is within them in UTC; +23:59 or -23:59 can push its day out, and no calendar names it).
const FIRST_DAY = daysFromCivil(1, 1, 1), LAST_DAY = daysFromCivil(9999, 12, 31);
const DECIMAL_TEXT = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$/;
const RATIO_TEXT = /^(?:0|[1-9][0-9]*)\.[0-9]{6}$/;

const isObject = (v) => v !== null && typeof v === 'object' && pyType(v) === 'dict'; // not a list, not a JsonFloat
const isCount = (v) => Number.isSafeInteger(v) && v >= 0;
/** A record's integer >= 0 as a Number, or null (ledger.profile._count_of: a float written "5.0" in a
 * record parsed by json.js counts, as in Python; canonical bytes never write one). */
function countOf(v) {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : null;
  if (v instanceof JsonFloat) return Number.isSafeInteger(v.value) && v.value >= 0 ? v.value : null;
  return null;
}
/** A record's finite number as a Number (never a boolean), or null; JSON.parse or json.js values. */
function numberOf(v) {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (v instanceof JsonFloat) return Number.isFinite(v.value) ? v.value : null;
  return null;
}
const fail = (msg) => { throw new BundleError(msg); };
/** obj[key] = value as an own key even for a name from the records such as "__proto__" (an
 * assignment would set the object's prototype instead, and the machine or customer would vanish). */
const setOwn = (obj, key, value) => {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  return value;
};
const own = (o, k) => Object.prototype.hasOwnProperty.call(o, k);

// ------------------------------------------------------------------ inputs
// The checks and their words are ledger.profile's (check_tz, check_mapping, check_thresholds).

/** `tz` if it is an offset `±HH:MM` (hours 00-23, minutes 00-59); else BundleError. */
export function checkTz(tz) {
  if (tzOffsetMs(tz) === null) fail(`tz must be an offset like +08:00 or -05:30 (±HH:MM), not ${pyRepr(tz)}`);
  return tz;
}

/** A `dpl-mapping/1` object (its checked copy) or null; BundleError naming the field. */
export function checkMapping(mapping) {
  if (mapping === undefined || mapping === null) return null;
  const bad = (where, why) => fail(`mapping ${where}: ${why}`);
  if (!isObject(mapping)) bad('', 'must be a JSON object');
  const extra = Object.keys(mapping).filter((k) => k !== 'format' && k !== 'types').sort(compareCodePoints);
  if (extra.length) bad(extra[0], 'unknown field');
  if (mapping.format !== MAPPING_FORMAT) bad('format', `must be ${pyRepr(MAPPING_FORMAT)}`);
  const types = own(mapping, 'types') ? mapping.types : undefined;
  if (!isObject(types)) bad('types', 'must be an object');
  const out = {}, sources = new Map();
  for (const name of Object.keys(types)) {
    const entry = types[name];
    if (!own(PROFILED_FIELDS, name)) bad(`types.${name}`, `only ${Object.keys(PROFILED_FIELDS).join(', ')} can be mapped`);
    if (!isObject(entry)) bad(`types.${name}`, 'must be an object');
    const more = Object.keys(entry).filter((k) => k !== 'type' && k !== 'fields').sort(compareCodePoints);
    if (more.length) bad(`types.${name}.${more[0]}`, 'unknown field');
    const copy = {};
    if (own(entry, 'type')) {
      const src = entry.type;
      if (typeof src !== 'string' || !src) bad(`types.${name}.type`, 'must be a non-empty string');
      if (own(PROFILED_FIELDS, src) && src !== name) bad(`types.${name}.type`, `${pyRepr(src)} is itself a profiled type`);
      if (sources.has(src)) bad(`types.${name}.type`, `${pyRepr(src)} is already mapped to ${sources.get(src)}`);
      sources.set(src, name);
      copy.type = src;
    }
    if (own(entry, 'fields')) {
      const fields = entry.fields;
      if (!isObject(fields)) bad(`types.${name}.fields`, 'must be an object');
      const seen = new Map();
      for (const field of Object.keys(fields)) {
        const key = fields[field];
        if (!PROFILED_FIELDS[name].includes(field)) {
          bad(`types.${name}.fields.${field}`, `not a field of ${name} (those are ${PROFILED_FIELDS[name].join(', ')})`);
        }
        if (typeof key !== 'string' || !key) bad(`types.${name}.fields.${field}`, 'must be a non-empty data key');
        if (seen.has(key)) bad(`types.${name}.fields.${field}`, `${pyRepr(key)} is already read as ${seen.get(key)}`);
        seen.set(key, field);
      }
      copy.fields = { ...fields };
    }
    out[name] = copy;
  }
  return { format: MAPPING_FORMAT, types: out };
}

/** Every threshold (defaults for the absent ones); BundleError naming a bad or unknown one. */
export function checkThresholds(thresholds) {
  if (thresholds === undefined || thresholds === null) return { ...DEFAULT_THRESHOLDS };
  if (!isObject(thresholds)) fail('thresholds must be a JSON object');
  const out = { ...DEFAULT_THRESHOLDS };
  for (const key of Object.keys(thresholds)) {
    const v = thresholds[key];
    if (!own(DEFAULT_THRESHOLDS, key)) fail(`thresholds.${key}: unknown threshold`);
    if (INT_THRESHOLDS.includes(key)) {
      if (!isCount(v)) fail(`thresholds.${key}: must be an integer >= 0, not ${pyRepr(v)}`);
    } else if (DECIMAL_THRESHOLDS.includes(key)) {
      if (typeof v !== 'string' || !DECIMAL_TEXT.test(v)) fail(`thresholds.${key}: must be a decimal string like "85" or "4.5", not ${pyRepr(v)}`);
    } else if (typeof v !== 'string' || !RATIO_TEXT.test(v)) {
      fail(`thresholds.${key}: must be a ratio with 6 decimals like "0.050000", not ${pyRepr(v)}`);
    }
    if (typeof v === 'string' && v.length > MAX_THRESHOLD_TEXT) fail(`thresholds.${key}: must be at most ${MAX_THRESHOLD_TEXT} characters long`);
    out[key] = v;
  }
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
    this.tz = checkTz(tz === undefined ? '+00:00' : tz);
    this.tzMs = tzOffsetMs(this.tz);
    this.mapping = checkMapping(mapping);
    this.thresholds = checkThresholds(thresholds);
    this.kinds = compileMapping(this.mapping);
    this.n = 0;
    this.firstIndex = null; this.nextIndex = null;
    this.types = new Map();
    this.instants = [];
    this.ordered = true;
    this.lastMs = -Infinity; this.lastIndex = -Infinity;
    this.first = null; this.last = null; // [ms, index, ts]
    this.days = new Map();
    this.mes = null; this.iot = null; this.sales = null;
  }

  _day(ms, index) {
    const z = dayOf(ms, this.tzMs);
    if (z < FIRST_DAY || z > LAST_DAY) fail(`record ${index} falls on a day outside the years 0001-9999 at tz ${this.tz}`);
    let d = this.days.get(z);
    if (d === undefined) { d = new Day(); this.days.set(z, d); }
    return d;
  }

  /** Count one record of the range (as parsed from its canonical bytes); indices come consecutive. */
  add(index, record) {
    if (this.nextIndex === null) {
      if (!Number.isSafeInteger(index) || index < 0) fail(`record index must be an integer >= 0, not ${pyRepr(index)}`);
      this.firstIndex = index;
    } else if (index !== this.nextIndex) {
      fail(`records must come in index order: expected index ${this.nextIndex}, got ${pyRepr(index)}`);
    }
    const ms = isObject(record) && typeof record.type === 'string' ? instantMs(record.ts) : null;
    if (ms === null) fail(`record ${index} is not a record (ts, type)`);
    this.nextIndex = index + 1;
    this.n += 1;
    const type = record.type;
    this.types.set(type, (this.types.get(type) ?? 0) + 1);
    this.instants.push(ms);
    if (ms < this.lastMs || (ms === this.lastMs && index < this.lastIndex)) this.ordered = false;
    this.lastMs = ms; this.lastIndex = index;
    if (this.first === null || ms < this.first[0] || (ms === this.first[0] && index < this.first[1])) this.first = [ms, index, record.ts];
    if (this.last === null || ms > this.last[0] || (ms === this.last[0] && index > this.last[1])) this.last = [ms, index, record.ts];
    const day = this._day(ms, index);
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
    const product = data[key.product], good = countOf(data[key.qty_good]), scrap = countOf(data[key.qty_scrap]);
    const planned = countOf(data[key.qty_planned]);
    if (typeof product !== 'string' || good === null || scrap === null || planned === null) { m.skipped += 1; return; }
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
    const machine = data[key.machine], state = data[key.state], total = countOf(data[key.parts_total]);
    if (typeof machine !== 'string' || typeof state !== 'string' || total === null) { t.skipped += 1; return; }
    t.readings += 1;
    let m = t.machines.get(machine);
    if (m === undefined) { m = new Machine(); t.machines.set(machine, m); }
    const k = m.ms.length;
    if (k && (ms < m.ms[k - 1] || (ms === m.ms[k - 1] && index < m.idx[k - 1]))) m.ordered = false;
    m.ms.push(ms); m.idx.push(index); m.running.push(state === 'running'); m.parts.push(total);
    m.power.push(numberOf(data[key.power_kw]));
    m.temp.push(numberOf(data[key.temp_c]));
    m.vib.push(numberOf(data[key.vibration_mm_s]));
  }

  _sales(key, data, day) {
    const s = this.sales ??= { orders: 0, skipped: 0, currencies: new Map(), skus: new Map() };
    const customer = data[key.customer], currency = data[key.currency], amount = countOf(data[key.amount_minor]);
    if (typeof customer !== 'string' || typeof currency !== 'string' || amount === null) { s.skipped += 1; return; }
    s.orders += 1;
    let c = s.currencies.get(currency);
    if (c === undefined) { c = { orders: 0, amount: 0, customers: new Map() }; s.currencies.set(currency, c); }
    c.orders += 1; c.amount = addInt(c.amount, amount);
    bump(c.customers, customer, amount);
    bump(day.sales, currency, amount);
    const lines = data[key.lines];
    if (Array.isArray(lines)) {
      for (const line of lines) {
        const qty = isObject(line) ? countOf(line.qty) : null;
        if (qty !== null && typeof line.sku === 'string') bump(s.skus, line.sku, qty);
      }
    }
  }

  /** The profile object (RFC 8785 gives its bytes); logId and checkpointRoot as 0x hex. */
  result({ logId, stream, start, end, checkpointSize, checkpointRoot }) {
    let id, root;
    try { id = toHex(bytes32(logId)); } catch { fail('log_id must be 32 bytes'); }
    try { root = toHex(bytes32(checkpointRoot)); } catch { fail('checkpoint_root must be 32 bytes'); }
    if (typeof stream !== 'string' || !stream) fail('stream must be a non-empty string');
    for (const [name, v] of [['start', start], ['end', end], ['checkpoint_size', checkpointSize]]) {
      if (!Number.isSafeInteger(v) || v < 0) fail(`${name} must be an integer >= 0, not ${pyRepr(v)}`);
    }
    if (!(start < end && end <= checkpointSize)) {
      fail(`the range [${start}, ${end}) must hold at least one record and end at or before the checkpoint size ${checkpointSize}`);
    }
    if (this.firstIndex !== start || this.nextIndex !== end) {
      const shown = this.firstIndex === null ? 'no record' : `records ${this.firstIndex}..${this.nextIndex - 1}`;
      fail(`the range is [${start}, ${end}) but ${shown} came`);
    }
    logId = id; checkpointRoot = root;
    const th = this.thresholds;
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
    profile.flags = flagsOf(profile, th);
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
    for (const [t, c] of this.types) setOwn(types, t, c);
    return {
      records: this.n, first_ts: this.first ? this.first[2] : null, last_ts: this.last ? this.last[2] : null,
      days: dayNums.length, days_without_records: span - dayNums.length, longest_gap_s: Math.floor(gap / 1000), types,
    };
  }

  _mesSection() {
    const m = this.mes;
    const by = {};
    for (const [product, p] of m.products) {
      setOwn(by, product, { orders: p.orders, qty_good: intOut(p.good), qty_scrap: intOut(p.scrap), qty_planned: intOut(p.planned),
        scrap_rate: ratio(p.scrap, addInt(p.good, p.scrap)), plan_attainment: ratio(p.good, p.planned) });
    }
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
      setOwn(machines, name, {
        readings: n, running, utilization: ratio(running, n), parts: intOut(parts), resets,
        energy_kwh: ratio(num, den), energy_per_part: bigParts === 0n ? null : ratio(num, den * bigParts),
        longest_stop_s: Math.floor(stop / 1000),
        temp_c: health(m.temp, tempMax), vibration_mm_s: health(m.vib, vibMax),
      });
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
      const customers = {};
      for (const [name, v] of c.customers) setOwn(customers, name, intOut(v));
      setOwn(by, currency, {
        orders: c.orders, amount_minor: intOut(c.amount), customers: c.customers.size,
        top1_share: total === 0n ? null : ratio(amounts[0], total),
        top5_share: total === 0n ? null : ratio(top5, total),
        hhi: total === 0n ? null : ratio(squares, total * total),
        by_customer: customers,
      });
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
      const row = setOwn(heat, machine, {});
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
      setOwn(byProduct, name, { mes_good: intOut(good), erp_qty: intOut(qty), ratio: ratio(good, qty) });
    }
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
      setOwn(salesCv, c, cv(series(get)));
      setOwn(salesGrowth, c, growth(dayNums, (z) => BigInt(get(this.days.get(z)))));
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
  for (const [c, v] of map) setOwn(out, c, intOut(v));
  return out;
}

function thresholdDecimal(text) {
  return { text, number: Number(text), dec: decimalOfText(text) };
}

/** A reading as the profile writes it: its own JSON number. A Number of 2^53 or more is integral but
 * was a float in the record (canonically 1e+21: records hold no such integer), so it stays a float. */
const reading = (v) => (Math.abs(v) >= 2 ** 53 ? new JsonFloat(v) : v);

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
    if (Math.abs(v - t) <= near) { if (compareToDecimal(v, limit.dec) > 0) over += 1; } else if (v > t) over += 1;
  }
  return { readings: n, p50: reading(rank(50)), p95: reading(rank(95)), max: reading(sorted[n - 1]), over_limit: ratio(over, n) };
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

/** -1, 0 or 1: two decimal texts (a figure as written, a threshold) compared exactly. */
function cmpText(a, b) {
  const x = decimalOfText(a), y = decimalOfText(b);
  let l = x.c, r = y.c;
  if (x.e > y.e) l *= 10n ** BigInt(x.e - y.e); else r *= 10n ** BigInt(y.e - x.e);
  return l === r ? 0 : l < r ? -1 : 1;
}
const over = (figure, limit) => figure !== null && cmpText(figure, limit) > 0;
const under = (figure, limit) => figure !== null && cmpText(figure, limit) < 0;

/**
 * The flags of a profile (§4 "flags"), ledger.profile._flags's: the written figures compared
 * exactly with the thresholds; in the table's order, then by figure path (code point order).
 */
function flagsOf(p, th) {
  const out = [];
  const flag = (rank, code, figure, value, threshold, message) => out.push({ rank, figure,
    flag: { code, message, figure, value: String(value), threshold: String(threshold) } });
  const cov = p.coverage;
  if (cov.longest_gap_s > th.max_gap_s) {
    flag(0, 'gap', 'coverage.longest_gap_s', cov.longest_gap_s, th.max_gap_s,
      `The longest gap between consecutive records is ${cov.longest_gap_s} s, more than ${th.max_gap_s} s.`);
  }
  if (cov.days_without_records > 0) {
    const n = cov.days_without_records;
    flag(1, 'days_without_records', 'coverage.days_without_records', n, 0,
      `${n} day(s) between the first and the last day of the range have no record.`);
  }
  if (p.iot !== null) {
    for (const [name, m] of Object.entries(p.iot.machines)) {
      const base = `iot.machines.${name}`;
      if (m.longest_stop_s > th.stoppage_s) {
        flag(2, 'stoppage', `${base}.longest_stop_s`, m.longest_stop_s, th.stoppage_s,
          `Machine ${name} had no running reading for ${m.longest_stop_s} s, more than ${th.stoppage_s} s.`);
      }
      if (under(m.utilization, th.min_utilization)) {
        flag(3, 'low_utilization', `${base}.utilization`, m.utilization, th.min_utilization,
          `Machine ${name} was running in ${m.utilization} of its readings, less than ${th.min_utilization}.`);
      }
      for (const [field, limit] of [['temp_c', 'temp_c_max'], ['vibration_mm_s', 'vibration_mm_s_max']]) {
        const dist = m[field];
        if (dist !== null && over(dist.over_limit, th.max_over_limit)) {
          flag(4, 'device_health', `${base}.${field}.over_limit`, dist.over_limit, th.max_over_limit,
            `Machine ${name}: a share of ${dist.over_limit} of its ${field} readings exceed ${th[limit]}, more than ${th.max_over_limit}.`);
        }
      }
    }
  }
  const mes = p.mes;
  if (mes !== null) {
    if (over(mes.scrap_rate, th.max_scrap_rate)) {
      flag(5, 'high_scrap', 'mes.scrap_rate', mes.scrap_rate, th.max_scrap_rate,
        `The scrap rate is ${mes.scrap_rate}, more than ${th.max_scrap_rate}.`);
    }
    if (under(mes.plan_attainment, th.min_plan_attainment)) {
      flag(6, 'plan_shortfall', 'mes.plan_attainment', mes.plan_attainment, th.min_plan_attainment,
        `Plan attainment is ${mes.plan_attainment}, less than ${th.min_plan_attainment}.`);
    }
  }
  if (p.sales !== null) {
    for (const [currency, c] of Object.entries(p.sales.by_currency)) {
      if (over(c.top1_share, th.max_top1_share)) {
        flag(7, 'customer_concentration', `sales.by_currency.${currency}.top1_share`, c.top1_share, th.max_top1_share,
          `In ${currency}, the largest customer has a share of ${c.top1_share} of sales, more than ${th.max_top1_share}.`);
      }
    }
  }
  const cs = p.cross_source;
  if (cs !== null) {
    const w = cs.worst;
    if (w !== null && over(w.mismatch, th.max_worst_mismatch)) {
      flag(8, 'cross_source_mismatch', 'cross_source.worst.mismatch', w.mismatch, th.max_worst_mismatch,
        `Machine ${w.machine} on ${w.day}: IoT counted ${w.iot_parts} parts and MES reported ${w.mes_units} units, `
        + `a mismatch of ${w.mismatch}, more than ${th.max_worst_mismatch}.`);
    }
    if (over(cs.mismatch, th.max_mismatch)) {
      flag(8, 'cross_source_mismatch', 'cross_source.mismatch', cs.mismatch, th.max_mismatch,
        `Over all machine-days, IoT parts and MES units differ by ${cs.mismatch}, more than ${th.max_mismatch}.`);
    }
    for (const [product, x] of Object.entries(cs.by_product)) {
      if (under(x.ratio, th.min_product_ratio)) {
        flag(9, 'product_mismatch', `cross_source.by_product.${product}.ratio`, x.ratio, th.min_product_ratio,
          `Product ${product}: MES made ${x.mes_good} good units but ERP orders ask for ${x.erp_qty}, `
          + `a ratio of ${x.ratio}, less than ${th.min_product_ratio}.`);
      }
    }
  }
  for (const section of ['mes', 'iot', 'sales']) {
    const s = p[section];
    if (s !== null && s.skipped > 0) {
      flag(10, 'skipped_records', `${section}.skipped`, s.skipped, 0,
        `${s.skipped} ${section} record(s) were skipped: a required field is missing or of the wrong kind.`);
    }
  }
  out.sort((a, b) => a.rank - b.rank || compareCodePoints(a.figure, b.figure));
  return out.map((f) => f.flag);
}

/** The profile of `records` (an iterable of [index, record]: exactly indices start..end-1, in order). */
export function buildProfile(records, { tz, mapping, thresholds, logId, stream, start, end, checkpointSize, checkpointRoot } = {}) {
  const b = new ProfileBuilder({ tz, mapping, thresholds });
  let expected = start;
  for (const [index, record] of records) {
    if (index !== expected || index >= end) {
      fail(`expected the record at index ${expected < end ? expected : 'none (range ended)'}, got index ${pyRepr(index)}`);
    }
    b.add(index, record);
    expected += 1;
  }
  return b.result({ logId, stream, start, end, checkpointSize, checkpointRoot });
}

// ------------------------------------------------------------------ a profile read from outside

const PROFILE_KEYS = ['format', 'log_id', 'stream', 'range', 'checkpoint', 'tz', 'mapping', 'thresholds',
  'coverage', 'mes', 'iot', 'sales', 'cross_source', 'daily', 'weekly', 'trend', 'flags'];
const HEX32 = /^0x[0-9a-f]{64}$/;
const isNat = (v) => pyType(v) === 'int' && typeof v === 'number' && v >= 0 && v <= Number.MAX_SAFE_INTEGER;
const sameKeys = (o, keys) => { const k = Object.keys(o); return k.length === keys.length && keys.every((x) => own(o, x)); };

/**
 * `value` if it has the shape of a `dpl-profile/1` profile, else BundleError naming the field
 * (ledger.profile.check_profile). Figures are not checked one by one: a verifier recomputes
 * the profile and compares (compareProfiles). `value` may come from JSON.parse or json.js.
 */
export function checkProfile(value) {
  const bad = (field, why) => fail(`profile ${field}: ${why}`);
  if (!isObject(value) || pyType(value) !== 'dict') fail('profile: must be a JSON object');
  for (const key of PROFILE_KEYS) if (!own(value, key)) bad(key, 'missing');
  const extra = Object.keys(value).filter((k) => !PROFILE_KEYS.includes(k)).sort(compareCodePoints);
  if (extra.length) bad(extra[0], 'unknown field');
  if (value.format !== PROFILE_FORMAT) bad('format', `must be ${pyRepr(PROFILE_FORMAT)}, not ${pyRepr(value.format)}`);
  if (typeof value.log_id !== 'string' || !HEX32.test(value.log_id)) bad('log_id', 'must be 0x and 64 lowercase hex digits');
  if (typeof value.stream !== 'string' || !value.stream) bad('stream', 'must be a non-empty string');
  const rng = value.range, cp = value.checkpoint;
  if (!isObject(rng) || !sameKeys(rng, ['from', 'to']) || !isNat(rng.from) || !isNat(rng.to)) {
    bad('range', 'must be {"from": integer, "to": integer}');
  }
  if (!isObject(cp) || !sameKeys(cp, ['size', 'root']) || !isNat(cp.size)) bad('checkpoint', 'must be {"size": integer, "root": "0x…"}');
  if (typeof cp.root !== 'string' || !HEX32.test(cp.root)) bad('checkpoint.root', 'must be 0x and 64 lowercase hex digits');
  if (!(rng.from < rng.to && rng.to <= cp.size)) {
    bad('range', `[${rng.from}, ${rng.to}) must be non-empty and end at or before the checkpoint size ${cp.size}`);
  }
  let thresholds;
  try {
    checkTz(value.tz);
    checkMapping(value.mapping);
    thresholds = checkThresholds(value.thresholds);
  } catch (e) {
    if (!(e instanceof BundleError)) throw e;
    fail(`profile ${e.message}`);
  }
  if (!isObject(value.thresholds) || !sameKeys(value.thresholds, Object.keys(thresholds))) bad('thresholds', 'must list every threshold');
  for (const key of ['coverage', 'cross_source', 'trend']) {
    if (!isObject(value[key]) && !(key === 'cross_source' && value[key] === null)) bad(key, 'must be an object');
  }
  for (const key of ['mes', 'iot', 'sales']) if (value[key] !== null && !isObject(value[key])) bad(key, 'must be an object or null');
  for (const key of ['daily', 'weekly', 'flags']) {
    if (!Array.isArray(value[key]) || !value[key].every(isObject)) bad(key, 'must be a list of objects');
  }
  value.daily.forEach((d, i) => {
    if (typeof d.day !== 'string' || !own(d, 'day') || !isObject(d.sales_minor) || !own(d, 'sales_minor')) bad(`daily[${i}]`, 'must have a day and sales_minor');
    // ascending, each once: a sampled record's day is found by bisection (recordDisagreements)
    if (i && compareCodePoints(value.daily[i - 1].day, d.day) >= 0) {
      bad(`daily[${i}]`, `day ${pyRepr(d.day)} does not come after ${pyRepr(value.daily[i - 1].day)} (days are ascending, each once)`);
    }
  });
  return value;
}

/** Marks a figure present on one side of compareProfiles only. */
export const MISSING = Symbol('MISSING');

/**
 * Every leaf where two profiles differ: [path, claimed or MISSING, recomputed or MISSING], depth
 * first, object keys in code point order, list items in order (ledger.profile.compare_profiles).
 * A leaf differs unless both are the same JSON type and equal (1, 1.0 from json.js, "1" and true
 * all differ). Paths: `mes.by_product.BRK-220.qty_good`, `daily[3].mes_good`. Empty: identical.
 */
export function compareProfiles(claimed, recomputed) {
  const out = [];
  compareAt('', claimed, recomputed, out);
  return out;
}

const join = (path, key) => (path ? `${path}.${key}` : key);

function compareAt(path, a, b, out) {
  const ta = a === MISSING ? 'missing' : pyType(a), tb = b === MISSING ? 'missing' : pyType(b);
  if (ta === 'dict' && tb === 'dict') {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort(compareCodePoints);
    for (const k of keys) compareAt(join(path, k), own(a, k) ? a[k] : MISSING, own(b, k) ? b[k] : MISSING, out);
  } else if (ta === 'list' && tb === 'list') {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      compareAt(`${path}[${i}]`, i < a.length ? a[i] : MISSING, i < b.length ? b[i] : MISSING, out);
    }
  } else if (!(ta === tb && leafEqual(ta, a, b))) {
    out.push([path, a, b]);
  }
}

function leafEqual(t, a, b) {
  if (t === 'int') return BigInt(a) === BigInt(b);
  if (t === 'float') return floatValue(a) === floatValue(b);
  if (t === 'dict' || t === 'list' || t === 'missing') return false;
  return a === b; // str, bool, None
}

/**
 * A profile's count (an integer, or its decimal string as written beyond 2^53) as a BigInt; 0 for
 * anything else (a float, a boolean, null, another string): a figure of the wrong kind is no count,
 * and records then disagree with it; never an exception on a tampered profile.
 */
function countIn(v) {
  if (pyType(v) === 'int') return BigInt(v);
  if (typeof v === 'string' && /^-?(?:0|[1-9][0-9]*)$/.test(v)) return BigInt(v);
  return 0n;
}

const str = (v) => (v === undefined || v === null ? 'None' : typeof v === 'string' ? v : pyRepr(v));

/**
 * How `record` (at `index`) contradicts the figures of its day in `profile` (§5), in words
 * (ledger.profile.record_disagreements); empty when it agrees. `profile` has passed
 * checkProfile; the record's day and fields are read with the profile's own tz and mapping.
 */
export function recordDisagreements(profile, index, record) {
  const out = [];
  const rng = profile.range;
  if (!(rng.from <= index && index < rng.to)) return [`record ${index} is outside the profile's range [${rng.from}, ${rng.to})`];
  const ms = isObject(record) ? instantMs(record.ts) : null;
  if (ms === null) return [`record ${index} has no valid ts`];
  const dayNumber = dayOf(ms, tzOffsetMs(profile.tz));
  if (dayNumber < FIRST_DAY || dayNumber > LAST_DAY) return [`record ${index} falls on a day outside the years 0001-9999`];
  const day = dayText(dayNumber);
  const daily = profile.daily; // ascending, each day once (checkProfile)
  let lo = 0, hi = daily.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareCodePoints(daily[mid].day, day) < 0) lo = mid + 1; else hi = mid;
  }
  const entry = lo < daily.length && daily[lo].day === day ? daily[lo] : undefined;
  if (entry === undefined) out.push(`record ${index} falls on ${day}, a day the profile does not list`);
  const kind = compileMapping(checkMapping(profile.mapping)).get(record.type);
  const data = record.data;
  if (kind === undefined || !isObject(data)) return out;
  const key = kind.key;
  const get = (o, k) => (isObject(o) && own(o, k) ? o[k] : undefined);
  if (kind.type === MES) {
    const product = get(data, key.product), good = countOf(get(data, key.qty_good));
    if (typeof product !== 'string' || good === null) return out;
    if (entry !== undefined && BigInt(good) > countIn(get(entry, 'mes_good'))) {
      out.push(`work order ${index} has qty_good ${good}, more than the ${str(get(entry, 'mes_good'))} good units of ${day}`);
    }
    const p = get(get(profile.mes, 'by_product'), product);
    if (p === undefined || p === null) {
      out.push(`work order ${index} is for product ${product}, which the profile does not list`);
    } else if (BigInt(good) > countIn(get(p, 'qty_good'))) {
      out.push(`work order ${index} has qty_good ${good}, more than the ${str(get(p, 'qty_good'))} good units of product ${product}`);
    }
  } else if (kind.type === IOT) {
    const machine = get(data, key.machine);
    const machines = get(profile.iot, 'machines');
    if (typeof machine === 'string' && !(isObject(machines) && own(machines, machine))) {
      out.push(`reading ${index} is from machine ${machine}, which the profile does not list`);
    }
  } else {
    const customer = get(data, key.customer), currency = get(data, key.currency), amount = countOf(get(data, key.amount_minor));
    if (typeof customer !== 'string' || typeof currency !== 'string' || amount === null) return out;
    if (entry !== undefined) {
      const sales = get(entry, 'sales_minor');
      const dayAmount = countIn(isObject(sales) && own(sales, currency) ? sales[currency] : 0);
      if (BigInt(amount) > dayAmount) {
        out.push(`sales order ${index} is for ${amount} ${currency} (minor units), more than the ${dayAmount} of ${day}`);
      }
    }
    const c = get(get(profile.sales, 'by_currency'), currency);
    const byCustomer = get(c, 'by_customer');
    const known = countIn(isObject(byCustomer) && own(byCustomer, customer) ? byCustomer[customer] : 0);
    if (BigInt(amount) > known) {
      out.push(`sales order ${index} is for ${amount} ${currency} (minor units), more than the ${known} the profile gives customer ${customer}`);
    }
  }
  return out;
}
