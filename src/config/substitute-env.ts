/**
 * `${VAR}` / `${VAR:-default}` substitution (docs/configuration.md), applied to string scalars AFTER the YAML is
 * parsed, so a substituted secret containing `#`, `: ` or quotes can never change the YAML structure.
 *
 * - `${VAR}`: the variable's value; unset → "" (an unset ${XAI_API_KEY} becomes an empty entry that
 *   validation later drops).
 * - `${VAR:-default}`: the default when VAR is unset or empty (shell semantics); the default cannot
 *   contain `}`.
 * - `$${`: a literal `${`.
 * - Any other `${` (unterminated, bad name) is reported, never passed through silently.
 * Mapping keys are not substituted; substituted text is not substituted again.
 */

export type Env = Readonly<Record<string, string | undefined>>;

/** A path into the parsed YAML tree: object keys and array indexes. */
export type TreePath = readonly (string | number)[];

export interface SubstitutionProblem {
  path: TreePath;
  message: string;
}

export interface SubstitutionResult {
  value: unknown;
  /**
   * Paths of strings that consisted solely of one `${…}` reference. Only these may later be coerced
   * to a number/boolean when the schema expects one (e.g. `port: ${PORT:-8080}`).
   */
  soleReferencePaths: readonly TreePath[];
  problems: readonly SubstitutionProblem[];
}

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/y;
const SOLE_REFERENCE = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}$/;

interface StringResult {
  value: string;
  error?: string;
}

/** Substitutes one string; never includes variable values in its error message. */
export function substituteString(text: string, env: Env): StringResult {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf('$', i);
    if (dollar === -1) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, dollar);
    if (text.startsWith('$${', dollar)) {
      out += '${';
      i = dollar + 3;
      continue;
    }
    if (!text.startsWith('${', dollar)) {
      out += '$';
      i = dollar + 1;
      continue;
    }
    REFERENCE.lastIndex = dollar;
    const match = REFERENCE.exec(text);
    if (match === null) {
      return {
        value: text,
        error: 'invalid ${…} reference: use ${NAME} or ${NAME:-default} (NAME: letters, digits, _), or $${ for a literal ${',
      };
    }
    const name = match[1] ?? '';
    const fallback = match[2];
    const fromEnv = env[name];
    if (fallback !== undefined) out += fromEnv === undefined || fromEnv === '' ? fallback : fromEnv;
    else out += fromEnv ?? '';
    i = dollar + match[0].length;
  }
  return { value: out };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Returns a substituted copy of `tree`; the input is not modified. */
export function substituteEnv(tree: unknown, env: Env): SubstitutionResult {
  const soleReferencePaths: TreePath[] = [];
  const problems: SubstitutionProblem[] = [];

  const walk = (node: unknown, path: TreePath): unknown => {
    if (typeof node === 'string') {
      const result = substituteString(node, env);
      if (result.error !== undefined) problems.push({ path, message: result.error });
      else if (SOLE_REFERENCE.test(node)) soleReferencePaths.push(path);
      return result.value;
    }
    if (Array.isArray(node)) return node.map((item, index) => walk(item, [...path, index]));
    if (isPlainObject(node)) {
      const copy: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(node)) copy[key] = walk(item, [...path, key]);
      return copy;
    }
    return node;
  };

  return { value: walk(tree, []), soleReferencePaths, problems };
}

const STRICT_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$/;

/**
 * Strict scalar coercion for sole-reference strings: only full-string integers/decimals and
 * `true`/`false`. Returns undefined when the string is not such a literal (the caller then reports
 * the original type error instead of guessing).
 */
export function coerceScalar(text: string, expected: 'number' | 'boolean'): number | boolean | undefined {
  if (expected === 'boolean') {
    if (text === 'true') return true;
    if (text === 'false') return false;
    return undefined;
  }
  return STRICT_NUMBER.test(text) ? Number(text) : undefined;
}
