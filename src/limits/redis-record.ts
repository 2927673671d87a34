/**
 * The reservation record an admission stores (HASH `<base>res`, field requestId), built here rather than in
 * the script (string building is the costly part of Lua). Format, read by src/limits/lua/common-lua.ts:
 * '2|status|admittedAtMs|tokens|costTicks|dayId|monthId|reapedAtMs|tpmMask|keyId|keyId...' — status 'p'
 * (pending) here, tpmMask one '1'/'0' per key id: whether the request is counted in that key's
 * tokensPerMinute window. Key ids never contain '|' (validate-input.ts).
 */
export function pendingRecord(input: {
  admittedAtMs: number;
  tokens: number;
  costTicks: number;
  dayId: string;
  monthId: string;
  keys: readonly { keyId: string; countsTpm: boolean }[];
}): string {
  const mask = input.keys.map((key) => (key.countsTpm ? '1' : '0')).join('');
  const fields = ['2', 'p', input.admittedAtMs, input.tokens, input.costTicks, input.dayId, input.monthId, 0, mask];
  return [...fields, ...input.keys.map((key) => key.keyId)].join('|');
}
