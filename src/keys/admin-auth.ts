import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Admin bearer tokens (docs/api.md, docs/threat-model.md), compared in constant time: both sides are hashed to a fixed length
 * first (so neither the length nor a common prefix leaks through timing), and every configured token is
 * compared — no early exit on a match.
 */
export function matchAdminToken(authorization: string | undefined, tokens: readonly string[]): string | null {
  if (authorization === undefined) return null;
  const match = /^bearer\s+(\S+)\s*$/i.exec(authorization);
  const presented = match?.[1];
  if (presented === undefined) return null;
  const presentedHash = createHash('sha256').update(presented).digest();
  let found: string | null = null;
  for (const token of tokens) {
    const equal = timingSafeEqual(presentedHash, createHash('sha256').update(token).digest());
    if (equal && found === null) found = token;
  }
  return found;
}

/** A short, stable, non-reversible name for an admin token, for audit entries (docs/api.md): never the secret. */
export function adminTokenFingerprint(token: string): string {
  return `admin:${createHash('sha256').update(token).digest('hex').slice(0, 12)}`;
}
