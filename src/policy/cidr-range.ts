import { isIP } from 'node:net';

/**
 * Address ranges for the child-key rule "IPs are a subset of the parent's" (docs/api.md). Every address or
 * CIDR is placed in one 128-bit space — IPv4 as its IPv4-mapped IPv6 form (`::ffff:a.b.c.d`, RFC 4291
 * §2.5.5.2), prefix + 96 — so `10.0.0.0/8` and `::ffff:10.0.0.0/104` are the same range, as they are for
 * the request-time check (node:net BlockList treats them alike).
 */
export interface CidrRange {
  /** First address of the range, as a 128-bit integer. */
  network: bigint;
  /** Prefix length in the 128-bit space, 0..128. */
  prefix: number;
}

const MAPPED_V4_BASE = 0xffffn << 32n;

function parseIpv4(address: string): bigint | null {
  const parts = address.split('.');
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return null;
    value = (value << 8n) | BigInt(Number(part));
  }
  return value;
}

function parseIpv6(address: string): bigint | null {
  let text = address;
  let v4Tail: bigint | null = null;
  // An embedded IPv4 tail (`::ffff:1.2.3.4`) stands for the last two 16-bit groups.
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    v4Tail = parseIpv4(text.slice(lastColon + 1));
    if (v4Tail === null) return null;
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groupsOf = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const head = groupsOf(halves[0] ?? '');
  const rest = halves.length === 2 ? groupsOf(halves[1] ?? '') : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const groups = [...head, ...Array.from({ length: halves.length === 2 ? missing : 0 }, () => '0'), ...rest];
  let value = 0n;
  for (const group of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return null;
    value = (value << 16n) | BigInt(Number.parseInt(group, 16));
  }
  return v4Tail === null ? value : value | v4Tail;
}

/** The range of an address (a /32 or /128) or a CIDR; null if it is neither. Host bits are cleared. */
export function parseCidrRange(value: string): CidrRange | null {
  if (value.includes('%')) return null;
  const slash = value.indexOf('/');
  const address = slash === -1 ? value : value.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return null;
  const width = family === 4 ? 32 : 128;
  let prefix = width;
  if (slash !== -1) {
    const text = value.slice(slash + 1);
    if (!/^(?:0|[1-9]\d{0,2})$/.test(text) || Number(text) > width) return null;
    prefix = Number(text);
  }
  const bits = family === 4 ? parseIpv4(address) : parseIpv6(address);
  if (bits === null) return null;
  const full = family === 4 ? MAPPED_V4_BASE | bits : bits;
  const full128 = family === 4 ? prefix + 96 : prefix;
  const hostBits = BigInt(128 - full128);
  return { network: (full >> hostBits) << hostBits, prefix: full128 };
}

/** True if every address of `inner` lies in `outer`. */
export function cidrContains(outer: CidrRange, inner: CidrRange): boolean {
  if (inner.prefix < outer.prefix) return false;
  const hostBits = BigInt(128 - outer.prefix);
  return inner.network >> hostBits === outer.network >> hostBits;
}
