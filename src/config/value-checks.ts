/**
 * Pure predicates for config values that zod has no built-in check for. Exported so the admin API
 * (key creation, docs/api.md) can validate the same fields the same way.
 */
import { isIP } from 'node:net';

/** An IPv4/IPv6 address or CIDR (`10.0.0.0/8`, `2001:db8::/32`); zone ids (`%eth0`) are refused. */
export function isIpOrCidr(value: string): boolean {
  if (value.includes('%')) return false;
  const slash = value.indexOf('/');
  const address = slash === -1 ? value : value.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return false;
  if (slash === -1) return true;
  const prefix = value.slice(slash + 1);
  if (!/^(?:0|[1-9][0-9]{0,2})$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * A browser origin exactly as a browser sends it in the `Origin` header: `scheme://host[:port]`,
 * http(s), lowercase host, no default port, no path, trailing slash, query, fragment or userinfo.
 * Requiring the canonical form means a plain string comparison with the header is correct.
 */
export function isOrigin(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  return url.origin === value;
}

/** An absolute http(s) URL without userinfo, query or fragment (a base URL for upstream calls). */
export function isHttpBaseUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  return url.username === '' && url.password === '' && url.search === '' && url.hash === '' && url.hostname !== '';
}

/** `redis://…` or `rediss://…` with a host. */
export function isRedisUrl(value: string): boolean {
  if (!value.startsWith('redis://') && !value.startsWith('rediss://')) return false;
  try {
    return new URL(value).hostname !== '';
  } catch {
    return false;
  }
}

/** Visible ASCII only: a secret that goes into an HTTP header must not carry spaces or control characters. */
export function isHeaderSafeSecret(value: string): boolean {
  return /^[\x21-\x7e]+$/.test(value);
}
