// Record format dpl-record/2 and partial records dpl-partial-record/1 (docs/RECORDS.md), as
// ledger/record2.py computes and checks them, in the same words. A leaf commits to each field
// (id, ts, type, data.<key>) with its own salt, HMAC-SHA256(record salt, label || name), so a
// record shown with some fields hidden still proves its leaf. Functions hashing are async
// (SHA-256 is WebCrypto's); HMAC is built on it (RFC 2104), so no key import is needed.
import { toModel, parseJson, pyType, get, has, keysOf } from './json.js';
import { canonicalize, CanonicalError, hasLoneSurrogate } from './jcs.js';
import { concatBytes, equalBytes, fromHex, toHex, utf8, HEX32 } from './hex.js';
import { pyRepr } from './pyfmt.js';
import { sha256 } from './sha256.js';
import { prepareRecord, RecordError, MAX_DEPTH, MAX_CANONICAL_BYTES } from './records.js';
import { leafHash, verifyInclusion } from './merkle.js';
import { BundleError } from './errors.js';

export const FORMAT = 'dpl-record/2';
export const PARTIAL_FORMAT = 'dpl-partial-record/1';
export const SALT_SIZE = 32;
/** The first 33 bytes of every v2 leaf's data: the format's name zero-padded to 32 bytes, then 0x02. */
export const LEAF_PREFIX = (() => {
  const out = new Uint8Array(33);
  out.set(utf8(FORMAT));
  out[32] = 2;
  return out;
})();
/** Fields every partial record discloses (the service and grants select by type and period). */
export const ALWAYS_DISCLOSED = ['ts', 'type'];
const SALT_LABEL = utf8(`${FORMAT} field salt\u0000`);
const TOP = ['id', 'ts', 'type'];
const DATA = 'data.';
const VALUE_DEPTH = MAX_DEPTH - 2;
const DOC_KEYS = ['format', 'index', 'fields', 'hidden'];
const FIELD_KEYS = ['name', 'value', 'salt'];

/** A partial record is malformed or refused (ledger.record2.PartialRecordError); `field` names the field at fault. */
export class PartialRecordError extends BundleError {
  constructor(message, field = null) {
    super(message);
    this.field = field;
  }
}

/** The caller broke a precondition of disclose or fieldSalt (ledger.errors.InvalidArgumentError). */
export class InvalidArgumentError extends Error {}

const fail = (message, field = null) => { throw new PartialRecordError(message, field); };

/** -1, 0, 1: byte order of two Uint8Arrays (shorter first on a common prefix). */
export function compareBytes(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

const nameOrder = (a, b) => compareBytes(utf8(a), utf8(b));

/** HMAC-SHA256 (RFC 2104) of `message` under a key of at most 64 bytes. */
export async function hmacSha256(key, message) {
  if (key.length > 64) throw new Error('hmacSha256: keys longer than 64 bytes are not needed here');
  const k = new Uint8Array(64);
  k.set(key);
  const inner = await sha256(concatBytes(k.map((b) => b ^ 0x36), message));
  return sha256(concatBytes(k.map((b) => b ^ 0x5c), inner));
}

/** HMAC-SHA256(recordSalt, "dpl-record/2 field salt" || 0x00 || UTF-8 name): a field's salt. */
export function fieldSalt(recordSalt, name) {
  if (!(recordSalt instanceof Uint8Array) || recordSalt.length !== SALT_SIZE) {
    throw new InvalidArgumentError(`a record salt must be ${SALT_SIZE} bytes`);
  }
  return hmacSha256(recordSalt, concatBytes(SALT_LABEL, utf8(name)));
}

function u32(n) {
  return new Uint8Array([(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
}

/** SHA-256(0x02 || salt || u32be(len(name)) || name || canonicalValue), name as UTF-8. */
export function fieldCommitment(name, canonicalValue, salt) {
  const raw = utf8(name);
  return sha256(concatBytes(new Uint8Array([2]), salt, u32(raw.length), raw, canonicalValue));
}

/** LEAF_PREFIX || u32be(n) || the commitments in ascending byte order: the leaf's data. */
export function leafDataFromCommitments(commitments) {
  const ordered = [...commitments].sort(compareBytes);
  return concatBytes(LEAF_PREFIX, u32(ordered.length), ...ordered);
}

/** A valid record's field names, ascending by UTF-8 bytes (how partial records list them). */
export function fieldNames(record) {
  return [...TOP, ...keysOf(record.data).map((k) => DATA + k)].sort(nameOrder);
}

const valueCanonical = (v) => canonicalize(v, VALUE_DEPTH);

/** [name, canonical value bytes] of every field of `record`, validated first (throws RecordError). */
export function recordFields(record) {
  prepareRecord(record);
  return [...TOP.map((k) => [k, valueCanonical(record[k])]),
    ...keysOf(record.data).map((k) => [DATA + k, valueCanonical(record.data[k])])];
}

async function leafDataOf(fields, recordSalt) {
  const cs = await Promise.all(fields.map(async ([name, value]) => fieldCommitment(name, value, await fieldSalt(recordSalt, name))));
  return leafDataFromCommitments(cs);
}

/** The v2 leaf data of a record (validated first: RecordError when it is not valid). */
export function leafDataV2(record, recordSalt) {
  return leafDataOf(recordFields(record), recordSalt);
}

/** SHA-256(0x00 || leafDataV2(record, recordSalt)). */
export async function leafHashV2(record, recordSalt) {
  return leafHash(await leafDataV2(record, recordSalt));
}

/**
 * The dpl-partial-record/1 of `record` at `index` disclosing `fields` (ts and type among them),
 * hiding the rest (ledger.record2.disclose). Values are written back from their canonical text.
 */
export async function disclose(record, recordSalt, fields, { index }) {
  const wanted = new Set(fields);
  const pairs = recordFields(record);
  const known = new Set(pairs.map(([n]) => n));
  const unknown = [...wanted].filter((n) => !known.has(n)).sort(nameOrder);
  if (unknown.length) throw new InvalidArgumentError(`the record has no field ${pyRepr(unknown[0])}`);
  for (const name of ALWAYS_DISCLOSED) {
    if (!wanted.has(name)) throw new InvalidArgumentError(`field ${pyRepr(name)} must be disclosed: a partial record always discloses ts and type`);
  }
  const shown = [], hidden = [];
  for (const [name, value] of pairs.sort((a, b) => nameOrder(a[0], b[0]))) {
    const salt = await fieldSalt(recordSalt, name);
    if (wanted.has(name)) shown.push({ name, value: parseJson(value), salt: toHex(salt) });
    else hidden.push(await fieldCommitment(name, value, salt));
  }
  return { format: PARTIAL_FORMAT, index, fields: shown, hidden: hidden.sort(compareBytes).map(toHex) };
}

function checkKeys(o, allowed, where, what) {
  for (const k of allowed) if (!has(o, k)) fail(`${where}missing key ${pyRepr(k)}`);
  for (const k of keysOf(o)) {
    if (!allowed.includes(k)) fail(`${where}unexpected key ${pyRepr(k)} (${what} has only ${allowed.join(', ')})`);
  }
}

function checkedValue(name, value) {
  let canonical;
  try {
    canonical = valueCanonical(value);
  } catch (e) {
    if (!(e instanceof CanonicalError)) throw e;
    const reason = e.reason === 'nested too deep' ? `nested deeper than ${MAX_DEPTH} levels` : e.reason;
    const at = e.path.length ? ` (at ${e.path.join('.')})` : '';
    fail(`field ${pyRepr(name)}${at}: ${reason}`, name);
  }
  if (canonical.length > MAX_CANONICAL_BYTES) {
    fail(`field ${pyRepr(name)}: canonical form is ${canonical.length} bytes, more than ${MAX_CANONICAL_BYTES} (64 KiB)`, name);
  }
  return canonical;
}

/**
 * Check a dpl-partial-record/1 (JSON text or bytes, read exactly, or a parsed object) and rebuild
 * its leaf hash, as ledger.record2.verify_partial does. Resolves to {index (BigInt), leafHash,
 * record: the disclosed fields as a record (id absent when hidden), hidden: the count}; rejects
 * with PartialRecordError (a BundleError) in Python's words. It does not check the log: prove
 * leafHash at index with verifyInclusion (or use verifyPartialInclusion).
 */
export async function verifyPartial(input) {
  const model = toModel(input, 'the partial record');
  if (model.error) fail(model.error);
  const doc = model.value;
  if (pyType(doc) !== 'dict') fail('the partial record must be a JSON object');
  const fmt = get(doc, 'format');
  if (fmt !== PARTIAL_FORMAT) fail(`unknown partial record format ${pyRepr(fmt ?? null)} (expected ${pyRepr(PARTIAL_FORMAT)})`);
  checkKeys(doc, DOC_KEYS, '', 'a partial record');
  const index = get(doc, 'index');
  if (pyType(index) !== 'int' || BigInt(index) < 0n) fail('index must be a non-negative integer');
  const rawFields = doc.fields, rawHidden = doc.hidden;
  if (pyType(rawFields) !== 'list') fail('fields must be a list');
  if (pyType(rawHidden) !== 'list') fail('hidden must be a list');

  const names = [], values = [], salts = [];
  rawFields.forEach((entry, n) => {
    if (pyType(entry) !== 'dict') fail(`fields[${n}] must be a JSON object`);
    checkKeys(entry, FIELD_KEYS, `fields[${n}]: `, 'a disclosed field');
    const name = entry.name;
    if (typeof name !== 'string') fail(`fields[${n}].name must be a string`);
    if (hasLoneSurrogate(name)) fail(`fields[${n}].name holds a lone surrogate (not valid Unicode)`);
    if (!TOP.includes(name) && !name.startsWith(DATA)) {
      fail(`fields[${n}]: ${pyRepr(name)} is not a field name (id, ts, type or data.<key>)`);
    }
    if (names.length) {
      const prev = names[names.length - 1];
      if (name === prev) fail(`field ${pyRepr(name)} is disclosed twice (fields[${n - 1}] and fields[${n}])`, name);
      if (nameOrder(name, prev) < 0) {
        fail(`fields[${n}] (${pyRepr(name)}) is out of order: fields are sorted by name, and it comes before ${pyRepr(prev)}`, name);
      }
    }
    const salt = entry.salt;
    if (typeof salt !== 'string' || !HEX32.test(salt)) fail(`field ${pyRepr(name)}: salt must be 0x followed by 64 lowercase hex digits`, name);
    names.push(name);
    values.push(entry.value);
    salts.push(fromHex(salt));
  });
  const shown = new Set(names);
  for (const name of ALWAYS_DISCLOSED) {
    if (!shown.has(name)) fail(`field ${pyRepr(name)} is not disclosed: a partial record always discloses ts and type`, name);
  }

  // Names sort data.* before id, ts and type: data values first, then id, ts and type by the
  // record rules on a stand-in record (a hidden id stands in as "-").
  const record = { data: Object.create(null) };
  names.forEach((name, k) => {
    if (name.startsWith(DATA)) record.data[name.slice(DATA.length)] = values[k];
    else record[name] = values[k];
  });
  const canonical = [];
  names.forEach((name, k) => { if (name.startsWith(DATA)) canonical.push(checkedValue(name, values[k])); });
  try {
    prepareRecord({ id: has(record, 'id') ? record.id : '-', ts: record.ts, type: record.type, data: {} });
  } catch (e) {
    if (!(e instanceof RecordError)) throw e;
    fail(`field ${pyRepr(e.field)}: ${e.reason}`, e.field);
  }
  names.forEach((name, k) => { if (!name.startsWith(DATA)) canonical.push(valueCanonical(values[k])); });

  const hidden = [];
  rawHidden.forEach((h, n) => {
    if (typeof h !== 'string' || !HEX32.test(h)) fail(`hidden[${n}] must be 0x followed by 64 lowercase hex digits`);
    const c = fromHex(h);
    if (hidden.length) {
      const order = compareBytes(c, hidden[hidden.length - 1]);
      if (order === 0) fail(`hidden[${n}] repeats hidden[${n - 1}]`);
      if (order < 0) fail(`hidden[${n}] is out of order: hidden commitments are sorted ascending`);
    }
    hidden.push(c);
  });
  const disclosed = await Promise.all(names.map((name, k) => fieldCommitment(name, canonical[k], salts[k])));
  for (let k = 0; k < disclosed.length; k++) {
    const n = hidden.findIndex((c) => equalBytes(c, disclosed[k]));
    if (n >= 0) fail(`hidden[${n}] is the commitment of disclosed field ${pyRepr(names[k])} (a field is both disclosed and hidden)`, names[k]);
  }
  const leaf = await leafHash(leafDataFromCommitments([...disclosed, ...hidden]));
  const out = {};
  for (const k of TOP) if (has(record, k)) out[k] = record[k];
  out.data = record.data;
  return { index: BigInt(index), leafHash: leaf, record: out, hidden: hidden.length };
}

/** verifyPartial, then the leaf's inclusion at its index in the tree (size, root); a failed proof rejects with ProofError. */
export async function verifyPartialInclusion(input, size, proof, root) {
  const v = await verifyPartial(input);
  await verifyInclusion(v.leafHash, v.index, size, proof, root);
  return v;
}
