/**
 * Config problems and the error that carries them (docs/configuration.md: the message names the file, the key
 * path and what is wrong). Messages are built from our own text and key names only, never from
 * values, because several fields hold secrets.
 */
import type * as z from 'zod';
import { ALLOWED_KEYS_PREFIX } from './schema.js';
import type { TreePath } from './substitute-env.js';

export interface ConfigProblem {
  /** e.g. "plans.free.limits.requestsPerMinute", "keys[0].secretSha256", "PORT (env)" or "(root)". */
  path: string;
  message: string;
}

export class ConfigError extends Error {
  readonly file: string;
  readonly problems: readonly ConfigProblem[];

  constructor(file: string, problems: readonly ConfigProblem[]) {
    const lines = problems.map((problem) => `  ${problem.path}: ${problem.message}`);
    const noun = problems.length === 1 ? 'problem' : 'problems';
    super(`Invalid configuration in ${file} (${problems.length} ${noun}):\n${lines.join('\n')}`);
    this.name = 'ConfigError';
    this.file = file;
    this.problems = Object.freeze(problems.map((problem) => Object.freeze({ ...problem })));
  }
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** ["plans","free","limits","rpm"] → "plans.free.limits.rpm"; [..., "keys", 0] → "keys[0]"; [] → "(root)". */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else {
      const name = String(segment);
      if (IDENTIFIER.test(name)) out += out === '' ? name : `.${name}`;
      else out += `[${JSON.stringify(name)}]`;
    }
  }
  return out === '' ? '(root)' : out;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The closest allowed key when it is plausibly a typo, else undefined. */
export function suggestKey(unknown: string, allowed: readonly string[]): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const key of allowed) {
    const distance = key.toLowerCase() === unknown.toLowerCase() ? 0 : editDistance(unknown, key);
    if (best === undefined || distance < best.distance) best = { key, distance };
  }
  if (best === undefined) return undefined;
  return best.distance <= Math.max(2, Math.floor(unknown.length / 4)) ? best.key : undefined;
}

export interface LocatedProblem {
  path: TreePath;
  message: string;
}

/** Turns zod issues into located problems: one per unknown key, record-key issues unwrapped. */
export function problemsFromIssues(issues: readonly z.core.$ZodIssue[]): LocatedProblem[] {
  const out: LocatedProblem[] = [];
  for (const issue of issues) {
    const path = issue.path.filter((segment): segment is string | number => typeof segment !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      // schema.ts puts the allowed keys into this message (zod issues do not carry them).
      const allowed = issue.message.startsWith(ALLOWED_KEYS_PREFIX)
        ? issue.message.slice(ALLOWED_KEYS_PREFIX.length).split(', ')
        : [];
      for (const key of issue.keys) {
        const suggestion = suggestKey(key, allowed);
        const message =
          suggestion !== undefined
            ? `unknown key (did you mean "${suggestion}"?)`
            : `unknown key${allowed.length > 0 ? `; allowed keys: ${allowed.join(', ')}` : ''}`;
        out.push({ path: [...path, key], message });
      }
    } else if (issue.code === 'invalid_key') {
      const inner = issue.issues[0];
      out.push({ path, message: inner !== undefined ? `invalid name: ${inner.message}` : 'invalid name' });
    } else {
      out.push({ path, message: issue.message });
    }
  }
  return out;
}
