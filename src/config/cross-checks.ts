/**
 * Rules spanning several fields (docs/configuration.md, docs/api.md, docs/operations.md), run on the raw (substituted, overridden) tree next
 * to the schema rather than as a zod refinement, so they are reported together with every field
 * problem instead of only once all fields are valid. Each check looks only at values of the right
 * type; wrong types are the schema's to report.
 */
import type { LocatedProblem } from './problems.js';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function crossCheck(tree: Record<string, unknown>): LocatedProblem[] {
  const problems: LocatedProblem[] = [];
  const plans = tree.plans === undefined ? {} : tree.plans;
  const keys = tree.keys;

  if (Array.isArray(keys)) {
    const firstById = new Map<string, number>();
    const firstByHash = new Map<string, number>();
    keys.forEach((entry: unknown, index) => {
      if (!isPlainObject(entry)) return;
      const { id, plan, secretSha256 } = entry;
      if (typeof plan === 'string' && isPlainObject(plans) && !Object.hasOwn(plans, plan)) {
        const names = Object.keys(plans);
        problems.push({
          path: ['keys', index, 'plan'],
          message: `unknown plan (${names.length > 0 ? `defined: ${names.join(', ')}` : 'no plans are defined'})`,
        });
      }
      if (typeof id === 'string') {
        const first = firstById.get(id);
        if (first !== undefined) problems.push({ path: ['keys', index, 'id'], message: `duplicate key id (also keys[${first}].id)` });
        else firstById.set(id, index);
      }
      if (typeof secretSha256 === 'string') {
        const first = firstByHash.get(secretSha256);
        if (first !== undefined) {
          problems.push({ path: ['keys', index, 'secretSha256'], message: `duplicate secret hash (also keys[${first}].secretSha256)` });
        } else firstByHash.set(secretSha256, index);
      }
    });
  }

  const store = tree.store;
  if (isPlainObject(store)) {
    const { redisUrl, clusterNodes } = store;
    if (typeof redisUrl === 'string' && redisUrl !== '' && Array.isArray(clusterNodes) && clusterNodes.length > 0) {
      problems.push({ path: ['store'], message: 'set either redisUrl or clusterNodes, not both' });
    }
  }
  return problems;
}
