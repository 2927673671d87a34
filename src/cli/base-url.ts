import { UsageError } from './flag-values.js';

/** Where the CLI sends its admin calls. A URL holding credentials is refused, and never echoed. */
export const DEFAULT_URL = 'http://localhost:8080';

/**
 * `--url`, else $XGW_URL, else the local gateway: http://localhost:<PORT> when the environment sets the PORT the
 * gateway listens on (the same shell or .env), else port 8080. http(s) only, no credentials, query or fragment;
 * no trailing slash.
 */
export function resolveBaseUrl(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): string {
  const fromEnv = env.XGW_URL !== undefined && env.XGW_URL !== '' ? env.XGW_URL : undefined;
  const port = env.PORT !== undefined && /^\d{1,5}$/.test(env.PORT) && Number(env.PORT) > 0 && Number(env.PORT) <= 65535 ? env.PORT : undefined;
  const local = port === undefined ? DEFAULT_URL : `http://localhost:${port}`;
  const raw = flag ?? fromEnv ?? local;
  const source = flag !== undefined ? '--url' : fromEnv !== undefined ? 'XGW_URL' : port !== undefined ? 'PORT' : 'the default URL';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // Echoed to help spot a typo, unless it might carry credentials (user:password@).
    throw new UsageError(`${source} is not a URL${raw.includes('@') ? '' : `: "${raw}"`} (e.g. http://localhost:8080)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${source} must be an http:// or https:// URL`);
  if (url.username !== '' || url.password !== '') throw new UsageError(`${source} must not hold credentials; the admin token comes from GATEWAY_ADMIN_TOKEN`);
  if (url.search !== '' || url.hash !== '') throw new UsageError(`${source} must not have a query or fragment`);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}
