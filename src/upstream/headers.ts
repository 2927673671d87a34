/**
 * Header rules for both directions of the proxy (docs/api.md), in one pure place.
 */

/** RFC 9110 §7.6.1 hop-by-hop fields, plus the legacy ones proxies still see. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Never forwarded upstream: the client's credentials and cookies (the upstream key replaces them), fields
 * the HTTP client recomputes for the body it actually sends, and `expect` (undici rejects it).
 * `accept-encoding` is replaced by identity so usage can be read from the bytes.
 */
const DROP_UPSTREAM = new Set(['authorization', 'x-api-key', 'cookie', 'host', 'content-length', 'expect', 'accept-encoding']);

/**
 * Never relayed to the client as is: upstream cookies (docs/api.md), lengths we recompute, and xAI's own
 * x-request-id (the client gets the gateway's; xAI's is kept as x-upstream-request-id for support cases).
 * xAI's x-ratelimit-* describe the operator's team, not the client key: the client gets the gateway's own
 * (docs/api.md rate-limit headers; a key without limits gets none).
 */
const DROP_DOWNSTREAM = new Set(['set-cookie', 'content-length', 'date', 'server', 'x-request-id']);
const DROP_DOWNSTREAM_PREFIX = 'x-ratelimit-';

export type HeaderValue = string | readonly string[] | undefined;
export type HeaderMap = Readonly<Record<string, HeaderValue>>;

const NONE_LISTED: ReadonlySet<string> = new Set();

/** Names listed in `Connection` are hop-by-hop for this message too (RFC 9110 §7.6.1). */
function connectionListed(headers: HeaderMap): ReadonlySet<string> {
  const value = headers.connection;
  // Runs per proxied request in each direction: a message without the field, or with the usual
  // `keep-alive` (a name already dropped as hop-by-hop), needs no Set.
  if (value === undefined || value === 'keep-alive' || value === 'Keep-Alive') return NONE_LISTED;
  const listed = new Set<string>();
  for (const v of typeof value === 'string' ? [value] : value) {
    for (const name of v.split(',')) {
      const trimmed = name.trim().toLowerCase();
      if (trimmed !== '') listed.add(trimmed);
    }
  }
  return listed;
}

/** Keys walked directly rather than through Object.entries' [name, value] pairs (per request, both directions). */
function copyExcept(headers: HeaderMap, drop: (name: string) => boolean): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const rawName of Object.keys(headers)) {
    const value = headers[rawName];
    if (value === undefined) continue;
    const name = rawName.toLowerCase();
    if (drop(name)) continue;
    out[name] = typeof value === 'string' ? value : [...value];
  }
  return out;
}

export function buildUpstreamHeaders(clientHeaders: HeaderMap, upstreamKey: string): Record<string, string | string[]> {
  const listed = connectionListed(clientHeaders);
  const out = copyExcept(clientHeaders, (name) => HOP_BY_HOP.has(name) || DROP_UPSTREAM.has(name) || listed.has(name));
  out.authorization = `Bearer ${upstreamKey}`;
  out['accept-encoding'] = 'identity';
  return out;
}

export function buildClientHeaders(upstreamHeaders: HeaderMap): Record<string, string | string[]> {
  const listed = connectionListed(upstreamHeaders);
  const out = copyExcept(
    upstreamHeaders,
    (name) => HOP_BY_HOP.has(name) || DROP_DOWNSTREAM.has(name) || name.startsWith(DROP_DOWNSTREAM_PREFIX) || listed.has(name),
  );
  const upstreamId = upstreamHeaders['x-request-id'];
  if (typeof upstreamId === 'string') out['x-upstream-request-id'] = upstreamId;
  return out;
}
