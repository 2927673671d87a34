import { matchesAnyGlob } from './glob.js';

/**
 * Filtering xAI's model lists to what a key may use (SPEC §4). Two shapes exist (xai-api.md §3.5): OpenAI's
 * `{"data":[…],"object":"list"}` for /v1/models and `{"models":[…]}` for the *-models routes. An entry is
 * visible when its id or one of its aliases is allowed by every policy's model patterns.
 */
type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function names(entry: JsonObject): string[] {
  const out: string[] = [];
  if (typeof entry.id === 'string') out.push(entry.id);
  if (Array.isArray(entry.aliases)) for (const a of entry.aliases) if (typeof a === 'string') out.push(a);
  return out;
}

function visible(entry: unknown, patternSets: readonly (readonly string[])[]): entry is JsonObject {
  if (!isObject(entry)) return false;
  const entryNames = names(entry);
  return patternSets.every((patterns) => entryNames.some((n) => matchesAnyGlob(patterns, n)));
}

export function listField(list: unknown): 'data' | 'models' | null {
  if (!isObject(list)) return null;
  if (Array.isArray(list.data)) return 'data';
  if (Array.isArray(list.models)) return 'models';
  return null;
}

/** The list with only the entries the key may use; null if the upstream list has an unknown shape. */
export function filterModelList(list: unknown, patternSets: readonly (readonly string[])[]): JsonObject | null {
  const field = listField(list);
  if (field === null || !isObject(list)) return null;
  const entries = list[field] as unknown[];
  return { ...list, [field]: entries.filter((e) => visible(e, patternSets)) };
}

/** One entry by id or alias, if the key may use it. */
export function findModel(list: unknown, id: string, patternSets: readonly (readonly string[])[]): JsonObject | null {
  const field = listField(list);
  if (field === null || !isObject(list)) return null;
  const entries = list[field] as unknown[];
  for (const entry of entries) {
    if (isObject(entry) && names(entry).includes(id) && visible(entry, patternSets)) return entry;
  }
  return null;
}
