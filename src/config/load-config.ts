/**
 * Loads config/gateway.yaml (docs/configuration.md): YAML → `${VAR}` substitution on string scalars →
 * environment overrides → validation (every problem at once, with key paths) → deep-frozen
 * GatewayConfig. The only module that reads the config file; callers pass the environment in.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { crossCheck } from './cross-checks.js';
import { deepFreeze } from './deep-freeze.js';
import { applyEnvOverrides, type Override } from './env-overrides.js';
import { ConfigError, formatPath, problemsFromIssues, type ConfigProblem, type LocatedProblem } from './problems.js';
import { configSchema, type ParsedConfig } from './schema.js';
import { coerceScalar, substituteEnv, type Env, type TreePath } from './substitute-env.js';
import type { GatewayConfig } from './types.js';

export { ConfigError, type ConfigProblem } from './problems.js';

export const DEFAULT_CONFIG_PATH = 'config/gateway.yaml';

export interface ParseConfigOptions {
  env: Env;
  /** Used only in error messages. */
  file: string;
}

export interface LoadConfigOptions {
  env: Env;
  /** Overrides GATEWAY_CONFIG; resolved against cwd. */
  path?: string;
  cwd?: string;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** YAML text → plain tree; syntax errors become problems with line/column but no source excerpt (it may hold a secret). */
function parseYaml(text: string): { tree: unknown; problems: ConfigProblem[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((error) => {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      const reason = (error.message.split('\n')[0] ?? '').replace(/:$/, '');
      return { path: '(root)', message: `YAML syntax error at line ${line}, column ${col}: ${reason}` };
    });
    return { tree: undefined, problems };
  }
  try {
    return { tree: doc.toJS({ maxAliasCount: 100 }) as unknown, problems: [] };
  } catch (error) {
    const reason = error instanceof Error ? (error.message.split('\n')[0] ?? '') : 'unreadable document';
    return { tree: undefined, problems: [{ path: '(root)', message: `YAML error: ${reason}` }] };
  }
}

function pathKey(path: readonly PropertyKey[]): string {
  return JSON.stringify(path.map((segment) => (typeof segment === 'number' ? segment : String(segment))));
}

function getAt(tree: unknown, path: TreePath): unknown {
  let node = tree;
  for (const segment of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string | number, unknown>)[segment];
  }
  return node;
}

function setAt(tree: unknown, path: TreePath, value: unknown): void {
  const parent = getAt(tree, path.slice(0, -1));
  const last = path[path.length - 1];
  if (typeof parent === 'object' && parent !== null && last !== undefined) {
    (parent as Record<string | number, unknown>)[last] = value;
  }
}

/**
 * Validates with the schema. A string that was exactly one `${…}` reference (or an env override
 * such as PORT) and sits where a number/boolean is expected is coerced strictly and validated again;
 * nothing else is coerced.
 */
function validate(
  tree: Record<string, unknown>,
  coercible: ReadonlySet<string>,
): { config?: ParsedConfig; problems: LocatedProblem[] } {
  const first = configSchema.safeParse(tree);
  if (first.success) return { config: first.data, problems: [] };
  let patched = false;
  for (const issue of first.error.issues) {
    if (issue.code !== 'invalid_type') continue;
    const expected = issue.expected === 'number' ? 'number' : issue.expected === 'boolean' ? 'boolean' : undefined;
    if (expected === undefined) continue;
    const path = issue.path.filter((segment): segment is string | number => typeof segment !== 'symbol');
    if (!coercible.has(pathKey(path))) continue;
    const raw = getAt(tree, path);
    if (typeof raw !== 'string') continue;
    const coerced = coerceScalar(raw, expected);
    if (coerced === undefined) continue;
    setAt(tree, path, coerced);
    patched = true;
  }
  const result = patched ? configSchema.safeParse(tree) : first;
  return result.success ? { config: result.data, problems: [] } : { problems: problemsFromIssues(result.error.issues) };
}

function startsWith(path: TreePath, prefix: TreePath): boolean {
  return prefix.length <= path.length && prefix.every((segment, index) => path[index] === segment);
}

/** Problems in values that came from an environment variable are reported against the variable. */
function toConfigProblem(problem: LocatedProblem, applied: readonly Override[]): ConfigProblem {
  const override = applied.find((candidate) => startsWith(problem.path, candidate.path));
  if (override === undefined) return { path: formatPath(problem.path), message: problem.message };
  const item = problem.path[override.path.length];
  const prefix = typeof item === 'number' ? `item ${item + 1} of the comma-separated list: ` : '';
  return { path: `${override.env} (env)`, message: `${prefix}${problem.message} (overrides ${formatPath(override.path)})` };
}

/** Drops the empty entries left by an unset `${XAI_API_KEY}` / `${GATEWAY_ADMIN_TOKEN}` (docs/configuration.md). */
function finalize(parsed: ParsedConfig): GatewayConfig {
  const config: GatewayConfig = {
    ...parsed,
    upstream: { ...parsed.upstream, apiKeys: parsed.upstream.apiKeys.filter((key) => key !== '') },
    admin: { ...parsed.admin, tokens: parsed.admin.tokens.filter((token) => token !== '') },
  };
  return deepFreeze(config);
}

/** Pure: YAML text + environment → validated, frozen config. Throws ConfigError listing every problem. */
export function parseConfig(text: string, options: ParseConfigOptions): GatewayConfig {
  const yaml = parseYaml(text);
  if (yaml.problems.length > 0) throw new ConfigError(options.file, yaml.problems);

  const root = yaml.tree ?? {};
  if (!isPlainObject(root)) {
    throw new ConfigError(options.file, [{ path: '(root)', message: 'must be a mapping of sections (server, upstream, store, …)' }]);
  }
  // A section written as `keys:` with all its entries commented out parses as null: treat it as absent.
  const withoutNulls = Object.fromEntries(Object.entries(root).filter(([, value]) => value !== null));

  const substituted = substituteEnv(withoutNulls, options.env);
  const overridden = applyEnvOverrides(substituted.value as Record<string, unknown>, options.env);
  const coercible = new Set([...substituted.soleReferencePaths, ...overridden.coercible].map(pathKey));
  const validated = validate(overridden.tree, coercible);
  const located = [...substituted.problems, ...validated.problems, ...crossCheck(overridden.tree)];

  const problems = [...overridden.problems, ...located.map((problem) => toConfigProblem(problem, overridden.applied))];
  if (problems.length > 0 || validated.config === undefined) {
    throw new ConfigError(options.file, problems.length > 0 ? problems : [{ path: '(root)', message: 'invalid configuration' }]);
  }
  return finalize(validated.config);
}

/**
 * Reads the config file: `options.path` ?? `GATEWAY_CONFIG` ?? config/gateway.yaml (relative to cwd).
 * An explicitly named file must exist; a missing default file means defaults + environment only
 * (file null).
 */
export function loadConfig(options: LoadConfigOptions): { config: GatewayConfig; file: string | null } {
  const fromEnv = options.env.GATEWAY_CONFIG;
  const explicit = options.path ?? (fromEnv === undefined || fromEnv === '' ? undefined : fromEnv);
  const file = resolve(options.cwd ?? process.cwd(), explicit ?? DEFAULT_CONFIG_PATH);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && explicit === undefined) {
      return { config: parseConfig('', { env: options.env, file: '(no config file: defaults and environment)' }), file: null };
    }
    const why =
      code === 'ENOENT'
        ? `file not found (named by ${options.path !== undefined ? 'the path option' : 'GATEWAY_CONFIG'})`
        : `cannot read file (${code ?? 'unknown error'})`;
    throw new ConfigError(file, [{ path: '(root)', message: why }]);
  }
  return { config: parseConfig(text, { env: options.env, file }), file };
}
