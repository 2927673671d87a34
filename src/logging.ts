import { pino, type Logger } from 'pino';

/**
 * The one logger of the process (docs/operations.md). Secrets are redacted at the logger, twice over:
 * - known header paths are censored by pino's `redact` (authorization, x-api-key, cookie, set-cookie);
 * - every serialized line passes a scrubber that replaces the configured upstream keys and admin tokens and
 *   anything shaped like a client key (`xgw_…`) or an xAI key (`xai-…`), wherever it appears — in a message,
 *   an error's text or a nested object — so a future log call cannot leak one by accident.
 */
export interface LoggerOptions {
  level: string;
  /** Exact secret strings to scrub (upstream keys, admin tokens). */
  secrets: readonly string[];
  /** Where lines go; default stdout. Tests pass a collector. */
  destination?: { write(line: string): unknown };
}

const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers.cookie',
  '*.authorization',
  '*["x-api-key"]',
];

const KEY_SHAPES = String.raw`xgw_[0-9A-Za-z]{8,}|xai-[0-9A-Za-z_-]{8,}`;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Shorter "secrets" are not scrubbed: redacting every occurrence of a letter or two would ruin every line. */
const MIN_SCRUBBED_LENGTH = 8;

export function createSecretScrubber(given: readonly string[]): (text: string) => string {
  const secrets = given.filter((s) => s.length >= MIN_SCRUBBED_LENGTH);
  const exact = [...secrets].sort((a, b) => b.length - a.length).map(escapeRegExp);
  // A secret may appear JSON-escaped inside a serialized line; the shapes we issue/use contain no characters
  // JSON escapes, and for arbitrary admin tokens we also match their JSON-escaped form.
  const escapedForms = secrets
    .map((s) => JSON.stringify(s).slice(1, -1))
    .filter((s) => !secrets.includes(s))
    .map(escapeRegExp);
  const pattern = new RegExp([...exact, ...escapedForms, KEY_SHAPES].join('|'), 'g');
  return (text) => text.replace(pattern, '[REDACTED]');
}

export function createLogger(options: LoggerOptions): Logger {
  const scrub = createSecretScrubber(options.secrets);
  const target = options.destination ?? process.stdout;
  return pino(
    {
      level: options.level,
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      base: { service: 'xai-gateway' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    { write: (line: string) => target.write(scrub(line)) },
  );
}
