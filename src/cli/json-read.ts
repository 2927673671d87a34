/**
 * Tolerant reads of the admin API's JSON answers for display: a field that is missing or of another type
 * (an older or newer gateway) shows as `-` instead of crashing the CLI.
 */
export type JsonObject = Readonly<Record<string, unknown>>;

export function record(value: unknown): JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : {};
}

export function field(value: unknown, name: string): unknown {
  return record(value)[name];
}

export function isPresent(value: unknown): boolean {
  return value !== null && value !== undefined;
}

export function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return '-';
  return JSON.stringify(value);
}
