/**
 * Fault-injection scenarios of the fake xAI server, chosen per request by the `x-fake-scenario` header or by
 * setScenario(). Bodies are the real captures of docs/upstream.md §6.2 where one exists.
 */

/** Every scenario name the fake understands (plus `status-<code>` for any HTTP status 200–599). */
export const SCENARIOS = [
  'hang',
  'hang-body',
  'destroy',
  'error-200',
  'midstream-error',
  'hold',
  'cached',
  'cached-gt-prompt',
  'legacy-usage',
  'recorded-simple',
  'recorded-tool',
  'recorded-stream',
  'recorded-tool-stream',
  'recorded-reasoning-stream',
  'recorded-response',
] as const;

export const SCENARIO_HEADER = 'x-fake-scenario';

/** HTTP 200 with a `{code,error}` body even for stream requests (docs/upstream.md §6.4, [VAI] isRetryable). */
export const ERROR_200_BODY = JSON.stringify({
  code: 'The service is currently unavailable',
  error: 'The service is currently unavailable. Please retry your request.',
});

export interface CannedResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

const JSON_TYPE = 'application/json';
const flat = (code: string, error: string): string => JSON.stringify({ code, error });

/** Realistic bodies per status (docs/upstream.md §6.2; 403/429/503 codes in the 2025 sentence style captured there). */
const STATUS_BODIES: Readonly<Record<number, { contentType: string; body: string }>> = {
  400: { contentType: JSON_TYPE, body: flat('invalid-argument', 'Invalid request content: Each message must have at least one content element.') },
  401: { contentType: JSON_TYPE, body: flat('unauthenticated:no-credentials', 'No credentials presented.') },
  403: {
    contentType: JSON_TYPE,
    body: flat(
      'The caller does not have permission to execute the specified operation',
      'Your team fake-team has either used all available credits or reached its monthly spending limit. To continue making API requests, please purchase more credits or raise your spending limit.',
    ),
  },
  404: { contentType: JSON_TYPE, body: flat('not-found', 'The model grok-4.3 does not exist or your team fake-team does not have access to it.') },
  413: { contentType: JSON_TYPE, body: flat('invalid-argument', 'Request body exceeds the maximum size.') },
  422: {
    // axum/serde plain text (docs/upstream.md §6.2 [ERR-422a]).
    contentType: 'text/plain; charset=utf-8',
    body: 'Failed to deserialize the JSON body into the target type: missing field `messages` at line 1 column 27',
  },
  429: {
    contentType: JSON_TYPE,
    body: flat('Some resource has been exhausted', 'The service is temporarily at capacity. Please retry your request shortly.'),
  },
  500: { contentType: JSON_TYPE, body: flat('internal', 'Please retry your request.') },
  502: { contentType: JSON_TYPE, body: flat('unavailable', 'Bad gateway. Please retry your request.') },
  503: { contentType: JSON_TYPE, body: ERROR_200_BODY },
  504: { contentType: JSON_TYPE, body: flat('deadline-exceeded', 'The request timed out. Please retry your request.') },
};

/** The answer of `status-<code>`, or undefined when the scenario is not a status scenario. */
export function statusScenario(scenario: string | null): CannedResponse | undefined {
  const m = /^status-(\d{3})$/.exec(scenario ?? '');
  if (!m?.[1]) return undefined;
  const status = Number(m[1]);
  if (status < 200 || status > 599) return undefined;
  const canned = STATUS_BODIES[status] ?? { contentType: JSON_TYPE, body: flat('unknown', `Fake status ${status}.`) };
  return { status, ...canned };
}
