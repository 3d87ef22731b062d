// Order-preserving encoding of store keys ("scalar keys": primitives and remotables) into
// strings, so that a vatstore scan in key order is a scan in key order of the store.
// After upstream's encodePassable, where it costs nothing:
//   b boolean < f number < n negative bigint < p non-negative bigint < r remotable
//   < s string < v null < y symbol < z undefined
// Numbers: IEEE-754 bits, big-endian, sign-flipped so that byte order is numeric order
// (-0 is 0; NaN sorts last among numbers). Bigints: digit count then digits (negatives
// complemented, so larger magnitudes sort first). Remotables: their vref (order among
// remotables is vref order, not insertion order as upstream).

import { passStyleOf } from './marshal.js';

const COUNT_WIDTH = 6;
const MAX_DIGITS = 10 ** COUNT_WIDTH - 1;

function encodeNumber(n) {
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, n === 0 ? 0 : n);
  const bytes = new Uint8Array(buf.buffer);
  if (bytes[0] & 0x80) {
    for (let i = 0; i < 8; i += 1) bytes[i] ^= 0xff;
  } else {
    bytes[0] ^= 0x80;
  }
  let out = 'f';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

function decodeNumber(hex) {
  const bytes = new Uint8Array(8);
  for (let i = 0; i < 8; i += 1) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  if (bytes[0] & 0x80) {
    bytes[0] ^= 0x80;
  } else {
    for (let i = 0; i < 8; i += 1) bytes[i] ^= 0xff;
  }
  return new DataView(bytes.buffer).getFloat64(0);
}

function encodeBigint(n) {
  const digits = (n < 0n ? -n : n).toString();
  if (digits.length > MAX_DIGITS) throw RangeError('bigint key too large');
  if (n >= 0n) return `p${String(digits.length).padStart(COUNT_WIDTH, '0')}:${digits}`;
  const comp = [...digits].map((d) => String(9 - Number(d))).join('');
  return `n${String(MAX_DIGITS - digits.length).padStart(COUNT_WIDTH, '0')}:${comp}`;
}

function decodeBigint(s) {
  const digits = s.slice(COUNT_WIDTH + 2);
  if (s[0] === 'p') return BigInt(digits);
  return -BigInt([...digits].map((d) => String(9 - Number(d))).join(''));
}

/**
 * Encodes a store key. `vrefOf(remotable)` names a remotable (allocating a vref if needed).
 * Throws for anything that cannot be a key.
 */
export function encodeKey(key, vrefOf) {
  const style = passStyleOf(key);
  switch (style) {
    case 'boolean':
      return `b${key}`;
    case 'number':
      return encodeNumber(key);
    case 'bigint':
      return encodeBigint(key);
    case 'remotable':
      return `r${vrefOf(key)}`;
    case 'string':
      return `s${key}`;
    case 'null':
      return 'v';
    case 'symbol': {
      const name = Symbol.keyFor(key);
      if (name === undefined) throw TypeError('only registered symbols can be keys');
      return `y${name}`;
    }
    case 'undefined':
      return 'z';
    default:
      throw TypeError(`a ${style} cannot be a store key (keys are primitives or remotables)`);
  }
}

/** Decodes a key made by `encodeKey`; `valOf(vref)` revives a remotable. */
export function decodeKey(s, valOf) {
  const rest = s.slice(1);
  switch (s[0]) {
    case 'b':
      return rest === 'true';
    case 'f':
      return decodeNumber(rest);
    case 'n':
    case 'p':
      return decodeBigint(s);
    case 'r':
      return valOf(rest);
    case 's':
      return rest;
    case 'v':
      return null;
    case 'y':
      return Symbol.for(rest);
    case 'z':
      return undefined;
    default:
      throw TypeError(`corrupt store key ${JSON.stringify(s)}`);
  }
}

/** Compares encoded keys (plain string order, which is key order). */
export const compareEncoded = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
