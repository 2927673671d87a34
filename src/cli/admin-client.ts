import type { ApiRequest } from './parse-command.js';

/**
 * The CLI's HTTP side: one admin API call (docs/api.md), or every page of a paginated one. `fetch` is injected
 * so runs can be tested without sockets. Errors in the documented shape `{"error":{"message","type","code"}}`
 * come back as data; only "could not talk to the gateway at all" is thrown.
 */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export type ApiAnswer =
  | { ok: true; status: number; body: unknown }
  | { ok: false; status: number; message: string; code: string | null };

export interface AdminClient {
  send(request: ApiRequest): Promise<ApiAnswer>;
  /** Follows `nextCursor` from the request's page on; answers `{data: [...every item], nextCursor: null}`. */
  sendAll(request: ApiRequest): Promise<ApiAnswer>;
}

export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
}

/** Page size for `--all` when none was given: the most the admin API serves at once (fewest round trips). */
const ALL_PAGE_SIZE = '1000';
const SNIPPET_CHARS = 200;

export function createAdminClient(deps: { baseUrl: string; token: string; fetch: FetchLike; timeoutMs: number }): AdminClient {
  const send = async (request: ApiRequest): Promise<ApiAnswer> => {
    let response: Response;
    try {
      response = await deps.fetch(`${deps.baseUrl}${request.path}`, {
        method: request.method,
        headers: {
          authorization: `Bearer ${deps.token}`,
          accept: 'application/json',
          ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
        // The admin API never redirects; following one could carry the token somewhere unintended.
        redirect: 'manual',
        signal: AbortSignal.timeout(deps.timeoutMs),
      });
    } catch (err) {
      throw new ConnectionError(`cannot reach the gateway at ${deps.baseUrl}: ${describeFailure(err)}`);
    }
    return readAnswer(response);
  };

  return {
    send,
    async sendAll(request) {
      const url = new URL(request.path, 'http://placeholder');
      if (!url.searchParams.has('limit')) url.searchParams.set('limit', ALL_PAGE_SIZE);
      const items: unknown[] = [];
      const seen = new Set<string>();
      for (;;) {
        const answer = await send({ ...request, path: `${url.pathname}${url.search}` });
        if (!answer.ok) return answer;
        const page = answer.body as { data?: unknown; nextCursor?: unknown } | null;
        if (page === null || typeof page !== 'object' || !Array.isArray(page.data)) {
          return { ok: false, status: answer.status, message: 'the answer is not a page ({data, nextCursor})', code: null };
        }
        items.push(...(page.data as unknown[]));
        if (typeof page.nextCursor !== 'string') return { ok: true, status: answer.status, body: { data: items, nextCursor: null } };
        // A cursor seen before would loop forever.
        if (seen.has(page.nextCursor)) return { ok: false, status: answer.status, message: 'the gateway repeated a page cursor', code: null };
        seen.add(page.nextCursor);
        url.searchParams.set('cursor', page.nextCursor);
      }
    },
  };
}

async function readAnswer(response: Response): Promise<ApiAnswer> {
  const status = response.status;
  if (status >= 300 && status < 400) {
    const location = response.headers.get('location');
    return {
      ok: false,
      status,
      message: `the gateway answered with a redirect${location === null ? '' : ` to ${location}`}; give the final address with --url`,
      code: null,
    };
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { ok: false, status, message: `HTTP ${status}, not a JSON answer${text.trim() === '' ? '' : `: ${text.trim().slice(0, SNIPPET_CHARS)}`}`, code: null };
  }
  if (status >= 200 && status < 300) return { ok: true, status, body };
  const error = (body as { error?: { message?: unknown; code?: unknown } } | null)?.error;
  if (typeof error === 'object' && error !== null && typeof error.message === 'string') {
    return { ok: false, status, message: error.message, code: typeof error.code === 'string' ? error.code : null };
  }
  return { ok: false, status, message: `HTTP ${status}: ${text.slice(0, SNIPPET_CHARS)}`, code: null };
}

/** Why fetch failed, from its cause (ECONNREFUSED, ENOTFOUND, a timeout), without request details. */
function describeFailure(err: unknown): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return 'no answer in time';
  const cause = err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (cause !== undefined && typeof cause.code === 'string') return cause.code;
  if (cause !== undefined && typeof cause.message === 'string') return cause.message;
  return err instanceof Error ? err.message : String(err);
}
