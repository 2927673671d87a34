import { BlockList, isIP } from 'node:net';

/**
 * Origin and IP scopes (docs/api.md, docs/threat-model.md). Pure: the caller passes the client IP it trusts (the socket's, or the
 * proxy-derived one only when server.trustProxy is set).
 */
export function originAllowed(allowedOrigins: readonly string[] | null, origin: string | undefined): boolean {
  if (allowedOrigins === null) return true;
  // A key bound to origins requires one: a browser always sends it; a copied key used elsewhere does not.
  if (origin === undefined) return false;
  const normalized = origin.toLowerCase();
  return allowedOrigins.some((o) => o.toLowerCase() === normalized);
}

const blockLists = new WeakMap<readonly string[], BlockList>();

function blockListFor(cidrs: readonly string[]): BlockList {
  const cached = blockLists.get(cidrs);
  if (cached !== undefined) return cached;
  const list = new BlockList();
  for (const entry of cidrs) {
    const [address = '', prefix] = entry.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }
  blockLists.set(cidrs, list);
  return list;
}

export function ipAllowed(allowedIps: readonly string[] | null, ip: string): boolean {
  if (allowedIps === null) return true;
  // IPv4-mapped IPv6 (::ffff:1.2.3.4) is how a dual-stack socket reports an IPv4 client.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const address = mapped?.[1] ?? ip;
  const family = isIP(address);
  if (family === 0) return false;
  return blockListFor(allowedIps).check(address, family === 6 ? 'ipv6' : 'ipv4');
}
