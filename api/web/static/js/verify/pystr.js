// Python's repr() of a string and str.isprintable(): a leaf module (it imports nothing), so
// the JSON reader can name a key the way Python does without importing the value printer.

const NONPRINTABLE = /[\p{C}\p{Z}]/u;

/** Python's str.isprintable() for one code point (given as a string). */
export function isPrintableChar(ch) {
  return ch === ' ' || !NONPRINTABLE.test(ch);
}

/** Python's repr() of a str. */
export function strRepr(s) {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0);
    if (ch === quote || ch === '\\') out += '\\' + ch;
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (cp < 0x20 || cp === 0x7f) out += '\\x' + cp.toString(16).padStart(2, '0');
    else if (cp < 0x7f || isPrintableChar(ch)) out += ch;
    else if (cp <= 0xff) out += '\\x' + cp.toString(16).padStart(2, '0');
    else if (cp <= 0xffff) out += '\\u' + cp.toString(16).padStart(4, '0');
    else out += '\\U' + cp.toString(16).padStart(8, '0');
  }
  return out + quote;
}
