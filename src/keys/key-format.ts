import { hash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * Client key format (docs/api.md): `xgw_` + 40 random base62 characters + a 6-character base62 CRC-32
 * of the random part. Modelled on GitHub's token format: the fixed prefix lets secret scanners
 * recognise a leaked key, and the checksum rejects a mistyped key without a store lookup.
 * (`zlib.crc32` exists since Node 20.15; package.json requires >= 20.19.)
 */
export const CLIENT_KEY_PREFIX = 'xgw_';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const RANDOM_LENGTH = 40;
/** 62^6 ≈ 5.7e10 > 2^32, so any CRC-32 fits in 6 base62 digits. */
const CHECKSUM_LENGTH = 6;
const CLIENT_KEY_LENGTH = CLIENT_KEY_PREFIX.length + RANDOM_LENGTH + CHECKSUM_LENGTH;
const CLIENT_KEY_PATTERN = new RegExp(`^${CLIENT_KEY_PREFIX}[0-9A-Za-z]{${RANDOM_LENGTH + CHECKSUM_LENGTH}}$`);
const KEY_ID_PREFIX = 'key_';
const KEY_ID_RANDOM_LENGTH = 20;
/** Largest multiple of 62 that fits in a byte: bytes at or above it are rejected, so `byte % 62` is unbiased. */
const UNBIASED_BYTE_LIMIT = 62 * 4;

function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    // Ask for a little more than needed: about 3% of bytes are rejected.
    for (const byte of randomBytes(length - out.length + 8)) {
      if (byte >= UNBIASED_BYTE_LIMIT) continue;
      out += BASE62.charAt(byte % 62);
      if (out.length === length) break;
    }
  }
  return out;
}

function checksumOf(randomPart: string): string {
  let value = crc32(randomPart);
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i += 1) {
    out = BASE62.charAt(value % 62) + out;
    value = Math.floor(value / 62);
  }
  return out;
}

/** A new client key secret. Returned to its owner once; only its hash is stored (docs/api.md). */
export function generateClientKey(): string {
  const randomPart = randomBase62(RANDOM_LENGTH);
  return CLIENT_KEY_PREFIX + randomPart + checksumOf(randomPart);
}

/**
 * True if `candidate` has the client key shape and a matching checksum. Never throws, whatever it is
 * given; a false answer means "not one of ours", so the caller can answer 401 without a store lookup.
 */
export function isWellFormedClientKey(candidate: string): boolean {
  if (typeof candidate !== 'string' || candidate.length !== CLIENT_KEY_LENGTH) return false;
  if (!CLIENT_KEY_PATTERN.test(candidate)) return false;
  const randomEnd = CLIENT_KEY_PREFIX.length + RANDOM_LENGTH;
  return checksumOf(candidate.slice(CLIENT_KEY_PREFIX.length, randomEnd)) === candidate.slice(randomEnd);
}

/**
 * SHA-256 hex of the full secret (prefix included, UTF-8): the only form in which a secret is stored.
 * crypto.hash (Node >= 20.12) is the one-shot form of createHash().update().digest(): same digest, without a
 * Hash object per call — this runs on every authenticated request.
 */
export function hashClientKey(secret: string): string {
  return hash('sha256', secret, 'hex');
}

/** A new key id: public, safe to log, used in URLs and Redis key names. */
export function generateKeyId(): string {
  return KEY_ID_PREFIX + randomBase62(KEY_ID_RANDOM_LENGTH);
}

/**
 * `xgw_…` + the last 4 characters, for human display only (CLI, dashboards). Not for logs: logs carry
 * the key id. A string too short to hide anything yields just `xgw_…`.
 */
export function redactClientKey(secret: string): string {
  const tail = typeof secret === 'string' && secret.length >= CLIENT_KEY_PREFIX.length + 8 ? secret.slice(-4) : '';
  return `${CLIENT_KEY_PREFIX}…${tail}`;
}
