/**
 * xAI names the operator's team in some error texts ("Your team <uuid> has either used all available credits",
 * "your team team-1 does not have access", "https://console.x.ai/team/<id>", docs/upstream.md §6.2). Relayed to a client,
 * that shows the operator's team id to every key holder, so it is replaced (docs/threat-model.md). An id is a token with a
 * digit, hyphen or underscore after "team " or "team/": ordinary words ("team doesn't") are left alone.
 */
const TEAM_ID_RE = /(\bteam[ /])([A-Za-z0-9][A-Za-z0-9_]*[-_0-9][A-Za-z0-9_-]*)/gi;

export function redactTeamIds(text: string): string {
  return text.replace(TEAM_ID_RE, '$1<team>');
}

/** An error body with the team ids taken out; the same buffer when there were none. */
export function redactTeamIdsInBody(bytes: Buffer): Buffer {
  const text = bytes.toString('utf8');
  const redacted = redactTeamIds(text);
  return redacted === text ? bytes : Buffer.from(redacted);
}
