/**
 * The admin token for the CLI, from the environment only: a flag would land in shell history and in `ps`
 * (docs/threat-model.md). `XGW_ADMIN_TOKEN` (the CLI's own) wins over `GATEWAY_ADMIN_TOKEN` (the server's, which may
 * list several tokens comma-separated: the first is used). Problems never echo the value.
 */
export type AdminTokenResult = { ok: true; token: string; source: string } | { ok: false; problem: string };

const TOKEN_VARIABLES = ['XGW_ADMIN_TOKEN', 'GATEWAY_ADMIN_TOKEN'] as const;
/** Visible ASCII only: anything else cannot travel in an Authorization header, and fetch's error would quote it. */
const HEADER_SAFE = /^[\x21-\x7e]+$/;

export function adminTokenFrom(env: Readonly<Record<string, string | undefined>>): AdminTokenResult {
  for (const source of TOKEN_VARIABLES) {
    const raw = env[source];
    if (raw === undefined || raw.trim() === '') continue;
    const token = (raw.split(',')[0] ?? '').trim();
    if (!HEADER_SAFE.test(token)) return { ok: false, problem: `${source} holds characters an admin token cannot have (spaces, control or non-ASCII characters)` };
    return { ok: true, token, source };
  }
  return { ok: false, problem: 'no admin token: set GATEWAY_ADMIN_TOKEN (or XGW_ADMIN_TOKEN) to one of the gateway\'s admin tokens' };
}
