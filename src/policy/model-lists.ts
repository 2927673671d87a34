import { matchesAnyGlob } from './glob.js';

/**
 * Filtering xAI's model lists to what a key may use (docs/api.md). Two shapes exist (docs/upstream.md §3.5): OpenAI's
 * `{"data":[…],"object":"list"}` for /v1/models and `{"models":[…]}` for the *-models routes. An entry is
 * visible when its id or one of its aliases is allowed by every policy's model patterns.
 */
type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Aliases by canonical id, gathered from the detailed lists (the OpenAI-shaped /v1/models carries none). */
export type AliasIndex = ReadonlyMap<string, readonly string[]>;

export function aliasIndex(lists: readonly unknown[]): AliasIndex {
  const out = new Map<string, string[]>();
  for (const list of lists) {
    const field = listField(list);
    if (field === null || !isObject(list)) continue;
    for (const entry of list[field] as unknown[]) {
      if (!isObject(entry) || typeof entry.id !== 'string' || !Array.isArray(entry.aliases)) continue;
      out.set(entry.id, entry.aliases.filter((a): a is string => typeof a === 'string'));
    }
  }
  return out;
}

function names(entry: JsonObject, aliases: AliasIndex): string[] {
  const out: string[] = [];
  if (typeof entry.id === 'string') out.push(entry.id, ...(aliases.get(entry.id) ?? []));
  if (Array.isArray(entry.aliases)) for (const a of entry.aliases) if (typeof a === 'string') out.push(a);
  return out;
}

function visible(entry: unknown, patternSets: readonly (readonly string[])[], aliases: AliasIndex): entry is JsonObject {
  if (!isObject(entry)) return false;
  const entryNames = names(entry, aliases);
  return patternSets.every((patterns) => entryNames.some((n) => matchesAnyGlob(patterns, n)));
}

export function listField(list: unknown): 'data' | 'models' | null {
  if (!isObject(list)) return null;
  if (Array.isArray(list.data)) return 'data';
  if (Array.isArray(list.models)) return 'models';
  return null;
}

/** The list with only the entries the key may use; null if the upstream list has an unknown shape. */
export function filterModelList(list: unknown, patternSets: readonly (readonly string[])[], aliases: AliasIndex = new Map()): JsonObject | null {
  const field = listField(list);
  if (field === null || !isObject(list)) return null;
  const entries = list[field] as unknown[];
  return { ...list, [field]: entries.filter((e) => visible(e, patternSets, aliases)) };
}

/** One entry by id or alias, if the key may use it. */
export function findModel(list: unknown, id: string, patternSets: readonly (readonly string[])[], aliases: AliasIndex = new Map()): JsonObject | null {
  const field = listField(list);
  if (field === null || !isObject(list)) return null;
  const entries = list[field] as unknown[];
  for (const entry of entries) {
    if (isObject(entry) && names(entry, aliases).includes(id) && visible(entry, patternSets, aliases)) return entry;
  }
  return null;
}
