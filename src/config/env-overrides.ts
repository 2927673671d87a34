/**
 * Environment overrides of docs/configuration.md: each variable overrides the file; a list variable replaces the
 * file's list. Applied before validation so overridden values are validated too. An empty variable
 * counts as unset (docker compose often passes `REDIS_URL=`).
 */
import type { ConfigProblem } from './problems.js';
import type { Env, TreePath } from './substitute-env.js';

export interface Override {
  env: string;
  path: TreePath;
}

export interface OverrideResult {
  tree: Record<string, unknown>;
  /** Which config paths now come from which variable (to report "PORT (env)"). */
  applied: readonly Override[];
  /** Paths holding env strings that may be coerced to number/boolean (e.g. PORT). */
  coercible: readonly TreePath[];
  problems: readonly ConfigProblem[];
}

const SCALARS: readonly { env: string; section: string | null; field: string; coercible?: true }[] = [
  { env: 'XAI_BASE_URL', section: 'upstream', field: 'baseUrl' },
  { env: 'HOST', section: 'server', field: 'host' },
  { env: 'PORT', section: 'server', field: 'port', coercible: true },
  { env: 'LOG_LEVEL', section: null, field: 'logLevel' },
];

const LISTS: readonly { env: string; section: string; field: string }[] = [
  { env: 'XAI_API_KEY', section: 'upstream', field: 'apiKeys' },
  { env: 'GATEWAY_ADMIN_TOKEN', section: 'admin', field: 'tokens' },
];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmpty(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

/** Comma-separated list: entries trimmed, empty entries dropped. */
export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

export function applyEnvOverrides(input: Record<string, unknown>, env: Env): OverrideResult {
  const tree: Record<string, unknown> = { ...input };
  const applied: Override[] = [];
  const coercible: TreePath[] = [];
  const problems: ConfigProblem[] = [];

  /** Sets tree[section][field]; a section of the wrong type is left alone for the schema to report. */
  const set = (section: string | null, field: string, value: unknown): boolean => {
    if (section === null) {
      tree[field] = value;
      return true;
    }
    const current = tree[section];
    if (current !== undefined && !isPlainObject(current)) return false;
    tree[section] = { ...(current ?? {}), [field]: value };
    return true;
  };

  for (const spec of SCALARS) {
    const value = nonEmpty(env, spec.env);
    if (value === undefined) continue;
    if (!set(spec.section, spec.field, spec.env === 'PORT' ? value.trim() : value)) continue;
    const path = spec.section === null ? [spec.field] : [spec.section, spec.field];
    applied.push({ env: spec.env, path });
    if (spec.coercible) coercible.push(path);
  }

  for (const spec of LISTS) {
    const value = nonEmpty(env, spec.env);
    if (value === undefined) continue;
    if (set(spec.section, spec.field, splitList(value))) applied.push({ env: spec.env, path: [spec.section, spec.field] });
  }

  // Redis: the variable wins over the file and clears the other form (docs/configuration.md, docs/operations.md).
  const redisUrl = nonEmpty(env, 'REDIS_URL');
  const clusterNodes = nonEmpty(env, 'REDIS_CLUSTER_NODES');
  if (redisUrl !== undefined && clusterNodes !== undefined) {
    problems.push({ path: 'REDIS_URL (env)', message: 'REDIS_URL and REDIS_CLUSTER_NODES are both set in the environment; set only one' });
  } else if (redisUrl !== undefined) {
    if (set('store', 'redisUrl', redisUrl) && set('store', 'clusterNodes', [])) {
      applied.push({ env: 'REDIS_URL', path: ['store', 'redisUrl'] });
    }
  } else if (clusterNodes !== undefined) {
    if (set('store', 'clusterNodes', splitList(clusterNodes)) && set('store', 'redisUrl', '')) {
      applied.push({ env: 'REDIS_CLUSTER_NODES', path: ['store', 'clusterNodes'] });
    }
  }

  return { tree, applied, coercible, problems };
}
