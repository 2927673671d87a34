/** Usage texts of the CLI (`--help`, and after a usage error). Kept in one place so the README can quote them. */

export type HelpTopic = 'main' | 'keys' | 'usage' | 'audit';

const CONNECTION = `Connection:
  --url <url>        gateway base URL (default: $XGW_URL, else http://localhost:$PORT, else http://localhost:8080)
  admin token        read from $GATEWAY_ADMIN_TOKEN (or $XGW_ADMIN_TOKEN, which wins if both are set);
                     never from a flag, so it stays out of shell history and \`ps\`
  --json             print the gateway's JSON answer instead of text
  -h, --help         this help`;

const EXIT_CODES = `Exit codes: 0 ok, 1 the gateway refused or could not be reached (message and code on stderr),
            2 usage error (unknown command or flag, bad value, no admin token).`;

const MAIN = `xai-gateway: manage the client keys of an xai-gateway through its admin API.

Usage:
  xai-gateway keys <command> [options]   create, list, show, update, revoke, rotate keys; one key's usage
  xai-gateway usage [--from D] [--to D]  every key's usage (GET /admin/usage)
  xai-gateway audit [--limit N] [--all]  the audit log, newest first (GET /admin/audit)
  xai-gateway overview                   today and this month: totals, requests in flight, error rate, top
                                         keys by cost, keys close to a limit (GET /admin/overview)
  xai-gateway alerts [--limit N]         recent alert webhook deliveries (GET /admin/alerts)
  xai-gateway object <id>                which client key owns an xAI file, response, batch, deferred
                                         completion or video, and when it was made (GET /admin/objects/:id)
  xai-gateway --version

Run \`xai-gateway keys --help\` for the key commands and their flags.

${CONNECTION}

${EXIT_CODES}
`;

const KEYS = `Usage: xai-gateway keys <command> [options]

Commands:
  create --name <name> [key flags]    create a key; prints its secret once
  list [--limit N] [--cursor C] [--all]
                                      list keys (a page of 100 by default; --all pages through every key)
  show <id>                           one key, with today's usage
  update <id> [key flags] [--clear <field>]...
                                      change a key; fields not given stay as they are
  revoke <id>                         revoke a key (and its child keys); the record stays
  rotate <id> [--grace <seconds>]     new secret, printed once; the old one keeps working --grace seconds
                                      (0..604800, default 0: it stops at once)
  usage <id> [--from YYYY-MM-DD] [--to YYYY-MM-DD]
                                      usage by UTC day and model (default: today), with refused and failed
  requests <id> [--limit N]           the key's last requests, its child keys' included, newest first
                                      (50 by default, up to 1000; metadata only, never prompt or answer text)

Key flags (create and update):
  --name <name>
  --plan <plan>                       a plan from the gateway's config
  --models <a,b>                      model names or glob patterns, e.g. grok-4,grok-3-*
  --endpoints <a,b>                   endpoint names, e.g. chat.completions,responses, or *
  --collections <a,b>                 xAI collection ids documents search may name (glob patterns; * for all)
  --limit <name>=<value>              repeatable, e.g. --limit requestsPerMinute=20 --limit costPerDayUsd=5;
                                      on update the key's own limits are replaced as a whole
  --origins <a,b>                     allowed browser origins, e.g. https://app.example.com
  --ips <a,b>                         allowed client addresses or CIDRs, e.g. 10.0.0.0/8,2001:db8::/32
  --ttl <seconds> | --expires-at <ISO 8601>
                                      expiry (--ttl counts from now)
  --metadata <k>=<v>                  repeatable; on update the metadata is replaced as a whole
  --mint-max-ttl <seconds>            let this key mint child keys living at most that long
  --clear <field>                     update only, repeatable: plan, models, endpoints, collections, origins, ips,
                                      expiry (never expires), mint, limits, metadata

Examples:
  xai-gateway keys create --name my-frontend --plan free --limit requestsPerMinute=20
  xai-gateway keys update key_abc --origins https://app.example.com --ttl 86400
  xai-gateway keys rotate key_abc --grace 3600
  xai-gateway keys list --all --json

${CONNECTION}

${EXIT_CODES}
`;

const USAGE = `Usage: xai-gateway usage [--from YYYY-MM-DD] [--to YYYY-MM-DD]

Every key's usage in the range (default: today, UTC), per key and overall. A child key's usage also
counts in its parent's, so the overall totals add up keys without a parent. --json has the days and models.

${CONNECTION}

${EXIT_CODES}
`;

const AUDIT = `Usage: xai-gateway audit [--limit N] [--cursor C] [--all]

The audit log, newest first: every create, patch, revoke, rotate and mint, with who (an admin token's
fingerprint, or key:<id> for a mint) and what changed. A page of 100 by default (--limit 1..1000);
--all pages through everything. --json has the full changes.

${CONNECTION}

${EXIT_CODES}
`;

export function helpText(topic: HelpTopic): string {
  switch (topic) {
    case 'main':
      return MAIN;
    case 'keys':
      return KEYS;
    case 'usage':
      return USAGE;
    case 'audit':
      return AUDIT;
  }
}
