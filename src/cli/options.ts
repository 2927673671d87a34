import type { parseArgs } from 'node:util';

/** Every flag of the CLI, for node:util parseArgs; which command accepts which is in parse-command.ts. */
export const OPTIONS = {
  url: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  name: { type: 'string' },
  plan: { type: 'string' },
  models: { type: 'string' },
  endpoints: { type: 'string' },
  collections: { type: 'string' },
  limit: { type: 'string', multiple: true },
  origins: { type: 'string' },
  ips: { type: 'string' },
  ttl: { type: 'string' },
  'expires-at': { type: 'string' },
  metadata: { type: 'string', multiple: true },
  'mint-max-ttl': { type: 'string' },
  clear: { type: 'string', multiple: true },
  grace: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  cursor: { type: 'string' },
  all: { type: 'boolean' },
} as const;

export type OptionName = keyof typeof OPTIONS;
export type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>['values'];
