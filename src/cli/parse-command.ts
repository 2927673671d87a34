import { parseArgs } from 'node:util';
import { OBJECT_ID_RE } from '../ownership/access.js';
import { resolveBaseUrl } from './base-url.js';
import { parseWhole, UsageError } from './flag-values.js';
import type { HelpTopic } from './help-text.js';
import { clearedFields, keyBody } from './key-body.js';
import { OPTIONS, type OptionName, type Values } from './options.js';

/**
 * argv → what to ask the admin API (docs/api.md) and how to show the answer. Pure: no I/O, no process globals;
 * the environment comes in as an argument. The admin token is not read here (see admin-token.ts), so a
 * command description can be printed or logged without leaking it.
 */
export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface ApiRequest {
  method: HttpMethod;
  /** Path and query, e.g. `/admin/keys?limit=10`. */
  path: string;
  body?: Readonly<Record<string, unknown>>;
}

export type AnswerView =
  | { kind: 'key-created' }
  | { kind: 'key-updated' }
  | { kind: 'key' }
  | { kind: 'key-list' }
  | { kind: 'key-rotated'; graceSeconds: number }
  | { kind: 'key-revoked' }
  | { kind: 'key-usage' }
  | { kind: 'all-usage' }
  | { kind: 'audit' }
  | { kind: 'object' }
  | { kind: 'key-requests' }
  | { kind: 'overview' }
  | { kind: 'alerts' };

export interface CliCommand {
  baseUrl: string;
  json: boolean;
  request: ApiRequest;
  view: AnswerView;
  /** Follow `nextCursor` until the last page and answer every item (`--all`). */
  pageAll: boolean;
}

export type ParsedCommand =
  | { kind: 'help'; topic: HelpTopic }
  | { kind: 'version' }
  | { kind: 'usage-error'; message: string; topic: HelpTopic }
  | { kind: 'run'; command: CliCommand };

/** Same rule as the config's KEY_ID_PATTERN (src/config/schema.ts; a unit test keeps them equal): ids go into URL paths. */
export const KEY_ID_RE = /^key_[A-Za-z0-9_-]{1,64}$/;


const KEY_FLAGS = ['name', 'plan', 'models', 'endpoints', 'collections', 'limit', 'origins', 'ips', 'ttl', 'expires-at', 'metadata', 'mint-max-ttl'] as const;
const PAGE_FLAGS = ['limit', 'cursor', 'all'] as const;
const RANGE_FLAGS = ['from', 'to'] as const;

interface Built {
  request: ApiRequest;
  view: AnswerView;
  pageAll?: boolean;
}

interface CommandSpec {
  topic: HelpTopic;
  /** Names of the positional arguments, all required. */
  args: readonly string[];
  flags: readonly OptionName[];
  build(values: Values, args: readonly string[]): Built;
}

const COMMANDS: Readonly<Record<string, CommandSpec>> = {
  'keys create': {
    topic: 'keys',
    args: [],
    flags: KEY_FLAGS,
    build: (values) => {
      if (values.name === undefined) throw new UsageError('keys create needs --name <name>');
      return { request: { method: 'POST', path: '/admin/keys', body: keyBody(values) }, view: { kind: 'key-created' } };
    },
  },
  'keys list': {
    topic: 'keys',
    args: [],
    flags: PAGE_FLAGS,
    build: (values) => ({ request: { method: 'GET', path: `/admin/keys${pageQuery(values)}` }, view: { kind: 'key-list' }, pageAll: values.all === true }),
  },
  'keys show': {
    topic: 'keys',
    args: ['id'],
    flags: [],
    build: (_values, [id]) => ({ request: { method: 'GET', path: keyPath(id) }, view: { kind: 'key' } }),
  },
  'keys update': {
    topic: 'keys',
    args: ['id'],
    flags: [...KEY_FLAGS, 'clear'],
    build: (values, [id]) => {
      const body = { ...keyBody(values), ...clearedFields(values) };
      if (Object.keys(body).length === 0) throw new UsageError('keys update needs at least one change (a key flag or --clear <field>)');
      return { request: { method: 'PATCH', path: keyPath(id), body }, view: { kind: 'key-updated' } };
    },
  },
  'keys revoke': {
    topic: 'keys',
    args: ['id'],
    flags: [],
    build: (_values, [id]) => ({ request: { method: 'DELETE', path: keyPath(id) }, view: { kind: 'key-revoked' } }),
  },
  'keys rotate': {
    topic: 'keys',
    args: ['id'],
    flags: ['grace'],
    build: (values, [id]) => {
      const graceSeconds = values.grace === undefined ? 0 : parseWhole('grace', values.grace, 0);
      return {
        request: { method: 'POST', path: `${keyPath(id)}/rotate`, body: values.grace === undefined ? {} : { graceSeconds } },
        view: { kind: 'key-rotated', graceSeconds },
      };
    },
  },
  'keys usage': {
    topic: 'keys',
    args: ['id'],
    flags: RANGE_FLAGS,
    build: (values, [id]) => ({ request: { method: 'GET', path: `${keyPath(id)}/usage${rangeQuery(values)}` }, view: { kind: 'key-usage' } }),
  },
  'keys requests': {
    topic: 'keys',
    args: ['id'],
    flags: ['limit'],
    build: (values, [id]) => ({ request: { method: 'GET', path: `${keyPath(id)}/requests${pageQuery(values)}` }, view: { kind: 'key-requests' } }),
  },
  overview: {
    topic: 'main',
    args: [],
    flags: [],
    build: () => ({ request: { method: 'GET', path: '/admin/overview' }, view: { kind: 'overview' } }),
  },
  alerts: {
    topic: 'main',
    args: [],
    flags: ['limit'],
    build: (values) => ({ request: { method: 'GET', path: `/admin/alerts${pageQuery(values)}` }, view: { kind: 'alerts' } }),
  },
  usage: {
    topic: 'usage',
    args: [],
    flags: RANGE_FLAGS,
    build: (values) => ({ request: { method: 'GET', path: `/admin/usage${rangeQuery(values)}` }, view: { kind: 'all-usage' } }),
  },
  object: {
    topic: 'main',
    args: ['objectId'],
    flags: [],
    build: (_values, [id]) => {
      // The admin API's own rule for object ids: anything else names no object.
      if (!OBJECT_ID_RE.test(id ?? '')) throw new UsageError(`"${id ?? ''}" is not an xAI object id (file_…, batch_…, a request or response id)`);
      return { request: { method: 'GET', path: `/admin/objects/${encodeURIComponent(id ?? '')}` }, view: { kind: 'object' } };
    },
  },
  audit: {
    topic: 'audit',
    args: [],
    flags: PAGE_FLAGS,
    build: (values) => ({ request: { method: 'GET', path: `/admin/audit${pageQuery(values)}` }, view: { kind: 'audit' }, pageAll: values.all === true }),
  },
};

const TOPICS: ReadonlySet<string> = new Set(['keys', 'usage', 'audit']);
const GLOBAL_FLAGS: readonly OptionName[] = ['url', 'json', 'help'];

export function parseCommand(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ParsedCommand {
  const topic = topicOf(argv[0]);
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true, tokens: true });
  } catch (err) {
    // `--help` wins over a mistake elsewhere on the line: the user is asking how to write it.
    if (argv.includes('--help') || argv.includes('-h')) return { kind: 'help', topic };
    return { kind: 'usage-error', message: parseArgsProblem(err), topic };
  }
  const { values, positionals, tokens } = parsed;
  if (values.help === true) return { kind: 'help', topic };
  if (positionals[0] === 'help') return { kind: 'help', topic: topicOf(positionals[1]) };
  if (values.version === true && positionals.length === 0) return { kind: 'version' };

  const [group, sub] = positionals;
  if (group === undefined) return { kind: 'usage-error', message: 'no command given', topic: 'main' };
  const name = group === 'keys' ? (sub === undefined ? undefined : `keys ${sub}`) : group;
  if (name === undefined) return { kind: 'usage-error', message: 'keys needs a command: create, list, show, update, revoke, rotate, usage or requests', topic: 'keys' };
  const spec = COMMANDS[name];
  if (spec === undefined) return { kind: 'usage-error', message: `unknown command "${[group, group === 'keys' ? sub : undefined].filter(Boolean).join(' ')}"`, topic };
  try {
    checkFlags(name, spec, tokens);
    const args = positionals.slice(group === 'keys' ? 2 : 1);
    if (args.length !== spec.args.length) {
      const wanted = spec.args.length === 0 ? 'no arguments' : spec.args.map((arg) => `<${arg}>`).join(' ');
      throw new UsageError(`${name} takes ${wanted}${args.length > spec.args.length ? `, not "${args.slice(spec.args.length).join(' ')}"` : ''}`);
    }
    if (spec.args[0] === 'id' && !KEY_ID_RE.test(args[0] ?? '')) throw new UsageError(`"${args[0] ?? ''}" is not a key id (key_…)`);
    const built = spec.build(values, args);
    return {
      kind: 'run',
      command: { baseUrl: resolveBaseUrl(values.url, env), json: values.json === true, request: built.request, view: built.view, pageAll: built.pageAll ?? false },
    };
  } catch (err) {
    if (err instanceof UsageError) return { kind: 'usage-error', message: err.message, topic: spec.topic };
    throw err;
  }
}

/** node:util's messages, shortened, with a "did you mean" for a misspelt flag. */
function parseArgsProblem(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const unknown = /^Unknown option '(-{1,2})([^']*)'/.exec(message);
  if (unknown === null) return message.split('\n')[0] ?? 'invalid arguments';
  const given = unknown[2] ?? '';
  const near = Object.keys(OPTIONS).find((option) => editDistance(option, given) <= (given.length > 4 ? 2 : 1));
  return `unknown option ${unknown[1] ?? ''}${given}${near === undefined ? '' : ` (did you mean --${near}?)`}`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function topicOf(word: string | undefined): HelpTopic {
  return word !== undefined && TOPICS.has(word) ? (word as HelpTopic) : 'main';
}

type Token = NonNullable<ReturnType<typeof parseArgs>['tokens']>[number];

/** Each flag must belong to the command, and a single-valued flag may appear once (no silent "last wins"). */
function checkFlags(name: string, spec: CommandSpec, tokens: readonly Token[]): void {
  const seen = new Set<string>();
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const option = token.name as OptionName;
    if (!GLOBAL_FLAGS.includes(option) && !spec.flags.includes(option)) throw new UsageError(`${token.rawName} is not an option of "${name}"`);
    const multiple = (OPTIONS[option] as { multiple?: boolean }).multiple === true;
    if ((!multiple || name === 'keys list' || name === 'audit' || name === 'keys requests' || name === 'alerts') && seen.has(option)) throw new UsageError(`${token.rawName} is given twice`);
    seen.add(option);
  }
}

function keyPath(id: string | undefined): string {
  return `/admin/keys/${encodeURIComponent(id ?? '')}`;
}

function pageQuery(values: Values): string {
  const limit = values.limit?.[0];
  return query([
    ['limit', limit === undefined ? undefined : String(parseWhole('limit', limit, 1))],
    ['cursor', values.cursor],
  ]);
}

function rangeQuery(values: Values): string {
  return query([
    ['from', values.from],
    ['to', values.to],
  ]);
}

function query(entries: readonly [string, string | undefined][]): string {
  const given = entries.filter((entry): entry is [string, string] => entry[1] !== undefined);
  return given.length === 0 ? '' : `?${new URLSearchParams(given).toString()}`;
}
