import type { ObjectKind } from './types.js';

/** An object a request body names: it must be the caller's to reach before anything is sent upstream. */
export interface ObjectRef {
  kind: ObjectKind;
  id: string;
}

/** More distinct references than any real request carries; bounds the store reads one body can cause. */
export const MAX_OBJECT_REFS = 1000;

const FILE_ID = Buffer.from('file_id');
const PREVIOUS_RESPONSE_ID = Buffer.from('previous_response_id');
/** `\u`: the only JSON escape that can spell the letters of a key name differently (RFC 8259 §7). */
const UNICODE_ESCAPE = Buffer.from('\\u');

/**
 * Whether a raw JSON body may name an object at all. A key named `file_id` or `previous_response_id` appears in
 * the bytes as written, or spelled with `\u` escapes: a body with neither needs no walk, which keeps ordinary
 * chat requests free of this check.
 */
export function mayReferenceObjects(raw: Buffer): boolean {
  return raw.includes(FILE_ID) || raw.includes(PREVIOUS_RESPONSE_ID) || raw.includes(UNICODE_ESCAPE);
}

/**
 * Every object a parsed body names, at any depth, deduplicated: each string
 * `file_id`, each string in a `file_ids` list (files inside chat, Responses, image edits and batch requests),
 * and each string `previous_response_id` (a Responses request, also inside batch requests). Values of other
 * types are not references (a tool's JSON schema may well have a property named `file_id`). The walk keeps its
 * own stack, so no nesting depth can overflow it. Returns null when the body names more than MAX_OBJECT_REFS.
 */
export function collectObjectRefs(body: unknown): ObjectRef[] | null {
  const refs: ObjectRef[] = [];
  const seen = new Set<string>();
  const add = (kind: ObjectKind, id: string): boolean => {
    const key = `${kind}:${id}`;
    if (seen.has(key)) return true;
    seen.add(key);
    refs.push({ kind, id });
    return refs.length <= MAX_OBJECT_REFS;
  };
  const stack: unknown[] = [body];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value !== 'object' || value === null) continue;
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i -= 1) stack.push(value[i]);
      continue;
    }
    const entries = Object.entries(value as Record<string, unknown>);
    for (let i = entries.length - 1; i >= 0; i -= 1) {
      const [name, item] = entries[i] as [string, unknown];
      if (name === 'file_id' && typeof item === 'string') {
        if (!add('file', item)) return null;
      } else if (name === 'previous_response_id' && typeof item === 'string') {
        if (!add('response', item)) return null;
      } else if (name === 'file_ids' && Array.isArray(item) && item.every((x) => typeof x === 'string')) {
        for (const id of item) if (!add('file', id)) return null;
      } else {
        stack.push(item);
      }
    }
  }
  return refs;
}
