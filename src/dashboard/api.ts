import type { AllUsageReport, AuditEntry, Delivery, KeyRecord, KeyWithSecret, KeyWithUsage, Overview, Page, Plan, RequestLine, UsageReport } from './types.js';

/**
 * The admin API (docs/api.md), called from the page. The admin token lives only in this closure — never in
 * localStorage, sessionStorage, a cookie or the URL — so reloading the page or signing out forgets it.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface AdminApi {
  listKeys(options?: { limit?: number; cursor?: string | null }): Promise<Page<KeyRecord>>;
  /** Every key, page after page (bounded: `maxKeys`). */
  listAllKeys(maxKeys?: number): Promise<{ keys: KeyRecord[]; truncated: boolean }>;
  getKey(id: string): Promise<KeyWithUsage>;
  createKey(body: Record<string, unknown>): Promise<KeyWithSecret>;
  revokeKey(id: string): Promise<KeyRecord>;
  rotateKey(id: string, graceSeconds: number): Promise<KeyWithSecret>;
  keyUsage(id: string, range: { from: string; to: string }): Promise<UsageReport>;
  allUsage(range: { from: string; to: string }): Promise<AllUsageReport>;
  children(id: string): Promise<{ data: KeyRecord[] }>;
  audit(options?: { limit?: number; cursor?: string | null }): Promise<Page<AuditEntry>>;
  updateKey(id: string, body: Record<string, unknown>): Promise<KeyRecord>;
  keyRequests(id: string, limit: number): Promise<{ data: RequestLine[] }>;
  overview(): Promise<Overview>;
  plans(): Promise<{ data: Plan[] }>;
  alerts(limit?: number): Promise<{ data: Delivery[] }>;
  /** A key's usage as CSV text (one row per day and model), for a download. */
  keyUsageCsv(id: string, range: { from: string; to: string }): Promise<string>;
}

const PAGE = 1000;

export function createAdminApi(token: string): AdminApi {
  async function call<T>(method: string, path: string, body?: unknown, as: 'json' | 'text' = 'json'): Promise<T> {
    let response: Response;
    try {
      response = await fetch(path, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch {
      throw new ApiError(0, 'network_error', 'The gateway could not be reached.');
    }
    const text = await response.text();
    if (response.ok && as === 'text') return text as T;
    let parsed: unknown = null;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      // Not JSON: reported below by status.
    }
    if (!response.ok) {
      const error = (parsed as { error?: { code?: unknown; message?: unknown } } | null)?.error;
      const code = typeof error?.code === 'string' ? error.code : 'http_error';
      const message = typeof error?.message === 'string' ? error.message : `The gateway answered HTTP ${response.status}.`;
      throw new ApiError(response.status, code, message);
    }
    return parsed as T;
  }

  const query = (params: Record<string, string | number | null | undefined>): string => {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) if (value !== null && value !== undefined) search.set(name, String(value));
    const text = search.toString();
    return text === '' ? '' : `?${text}`;
  };
  const id = (keyId: string): string => encodeURIComponent(keyId);

  const listKeys: AdminApi['listKeys'] = (options = {}) => call('GET', `/admin/keys${query({ limit: options.limit, cursor: options.cursor })}`);

  return {
    listKeys,
    async listAllKeys(maxKeys = 20 * PAGE) {
      const keys: KeyRecord[] = [];
      let cursor: string | null = null;
      do {
        const page: Page<KeyRecord> = await listKeys({ limit: PAGE, cursor });
        keys.push(...page.data);
        cursor = page.nextCursor;
      } while (cursor !== null && keys.length < maxKeys);
      return { keys, truncated: cursor !== null };
    },
    getKey: (keyId) => call('GET', `/admin/keys/${id(keyId)}`),
    createKey: (body) => call('POST', '/admin/keys', body),
    revokeKey: (keyId) => call('DELETE', `/admin/keys/${id(keyId)}`),
    rotateKey: (keyId, graceSeconds) => call('POST', `/admin/keys/${id(keyId)}/rotate`, { graceSeconds }),
    keyUsage: (keyId, range) => call('GET', `/admin/keys/${id(keyId)}/usage${query(range)}`),
    allUsage: (range) => call('GET', `/admin/usage${query(range)}`),
    children: (keyId) => call('GET', `/admin/keys/${id(keyId)}/children`),
    audit: (options = {}) => call('GET', `/admin/audit${query({ limit: options.limit, cursor: options.cursor })}`),
    updateKey: (keyId, body) => call('PATCH', `/admin/keys/${id(keyId)}`, body),
    keyRequests: (keyId, limit) => call('GET', `/admin/keys/${id(keyId)}/requests${query({ limit })}`),
    overview: () => call('GET', '/admin/overview'),
    plans: () => call('GET', '/admin/plans'),
    alerts: (limit = 100) => call('GET', `/admin/alerts${query({ limit })}`),
    keyUsageCsv: (keyId, range) => call('GET', `/admin/keys/${id(keyId)}/usage${query({ ...range, format: 'csv' })}`, undefined, 'text'),
  };
}

/** What to tell the operator about a failed call: the gateway's own message, with a hint for the common cases. */
export function describeError(err: unknown): string {
  if (!(err instanceof ApiError)) return err instanceof Error ? err.message : 'Something went wrong.';
  if (err.status === 401) return 'The admin token was not accepted. Sign in again.';
  if (err.status === 429) return `${err.message} (too many failed sign-ins from this address).`;
  return err.message;
}
