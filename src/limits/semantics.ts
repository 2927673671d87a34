/**
 * The limiter's semantics, in one place (docs/configuration.md, docs/api.md). Both implementations (Lua on Redis, in-process)
 * follow exactly this; the shared contract suite and a randomised differential test hold them to it.
 *
 * Admission (one atomic step per request, across every subject: the key, and its parent for a child key):
 * - requestsPerMinute N: per-second buckets of admitted requests, the same window as tokensPerMinute (below):
 *   admit iff window count + 1 ≤ N. Never more than N admissions in any rolling 60 s of `nowMs`, refusing at
 *   most 1 s earlier than an exact log would; memory per key ≤ 61 buckets whatever N (an exact log held one
 *   entry per request in the window, so a 1,000,000-rpm key could hold a million).
 * - requestsPerDay N: counter of the admission's UTC day; admit iff count + 1 ≤ N.
 *   Every admitted request counts toward both, also ones later released or failed upstream.
 * - tokensPerMinute L: per-second buckets (second = floor(ms / 1000)); the window at `now` is the current
 *   second's bucket and the 60 before it (61 buckets: at least the last 60 s, at most 61 s). Admit iff
 *   window sum + estimate ≤ L. Because the window always covers the last full 60 s, the limit holds for
 *   every rolling 60 s (up to estimation error); the price is refusing at most 1 s earlier than an exact
 *   log would. Work and memory per key are bounded (≤ 61 buckets) whatever the traffic.
 * - tokensPerDay / tokensPerMonth / totalTokens, costPerDayUsd / costPerMonthUsd / totalCostUsd: counters
 *   per UTC day, per UTC month and lifetime, each holding used + reserved. Admit iff counter + estimate ≤
 *   limit (cost compared in integer ticks, the limit converted with usdToTicks).
 * - concurrency N: the subject's reservations in flight (admitted, neither settled nor reaped); admit iff
 *   in flight + 1 ≤ N. A reservation whose lease expired stops counting when it is reaped, which every
 *   admission does first (below): at once, unless more than REAP_BATCH are due at one moment — then the
 *   rest count (the limit errs on the safe side) until the next few admissions have reaped them.
 * - maxOutputTokens is not checked here (the caller answers 400).
 * - On admission every subject's day/month/lifetime counters and in-flight count are always kept (so a
 *   limit added later counts what was already used); the per-minute log and buckets only where the
 *   subject has that limit (their size is bounded by it).
 *
 * Refusal: code 'rate_limit_exceeded' for the per-minute limits, 'quota_exceeded' for all others.
 * retryAfterSeconds (whole seconds, rounded up, ≥ 1):
 * - requestsPerMinute: until enough of the oldest buckets have left the window for one more request (as
 *   tokensPerMinute, with an estimate of 1).
 * - tokensPerMinute: until enough of the oldest buckets have left the window (bucket s leaves at
 *   (s + 61) · 1000 ms) for the estimate to fit.
 * - …PerDay: until the next UTC midnight; …PerMonth: until the next UTC month.
 * - totalTokens / totalCostUsd: null (never resets).
 * - concurrency: null (a slot may free at any moment; no reset is known, docs/api.md).
 * - a request that can never fit (estimate > the limit, or a limit of 0): null.
 * When several limits refuse, the one with the longest wait is reported (never-fitting and total* count
 * as infinite, concurrency as 0); ties go to the first subject, then the order of ENFORCED_LIMITS.
 *
 * Rate state (x-ratelimit-* headers, docs/api.md): among requestsPerMinute/requestsPerDay of all subjects, the
 * one with the least remaining (ties: first subject, then per-minute first); the same among
 * tokensPerMinute/tokensPerDay/tokensPerMonth (lifetime totals never reset, so they are not headers).
 * remaining counts this request when admitted (and its token estimate), not when refused; never < 0.
 * resetSeconds = whole seconds (rounded up) until remaining next grows: the oldest log entry or non-empty
 * bucket leaving the window, or the period's end; 0 when nothing is counted.
 *
 * Reservations and leases: admission stores a reservation (amounts, admission ms, UTC day/month, key ids,
 * which keys got a tokensPerMinute bucket entry) with expiry now + leaseMs; `renew` (the heartbeat,
 * src/limits/heartbeat.ts) moves a pending one's expiry to now + leaseMs, never earlier. Settlement replaces it
 * by the real usage in the same buckets/periods it was made in (the admission's day and month, even after
 * midnight): counters += actual − reserved (a bucket only if admission wrote to it and it is still in the
 * window), and it stops counting as in flight. usage null = release (adds nothing). Each admission (and
 * remaining()) first handles at most REAP_BATCH due entries, oldest due first (ties by requestId): a
 * reservation whose lease expired — its instance stopped renewing it — is reaped: it stays charged as reserved
 * (the counters keep it), stops counting as in flight, and is kept as a charged mark, due again
 * REAPED_RETENTION_MS later, when it is dropped. A late settle of a charged mark replaces the charge by the real
 * usage once (counters += actual − reserved, no slot freed again). A settle more than REAPED_RETENTION_MS after
 * the reaping, or a second settle, is a no-op returning false. (Marks an earlier version reaped by reverting
 * them get the real usage added instead.) A request outliving its lease without renewals stops counting toward
 * concurrency early.
 *
 * Usage recording (docs/api.md): on settle with usage ≠ null, for each of the reservation's keys (a child
 * and its parent), per UTC day of the settlement and model: requests + 1 and the token/cost fields.
 * Kept USAGE_RETENTION_DAYS days.
 *
 * Guarantees (docs/api.md): requestsPerMinute, requestsPerDay and concurrency are never exceeded (concurrency:
 * as long as every instance holding a request renews its lease). Token and cost limits: at every admission counter + estimate ≤
 * limit, the counters holding settled actuals plus pending estimates, so a window or period ends at most at
 * limit + Σ max(0, actual − estimate) over the requests in flight at its last admission, plus the real usage
 * of reservations settled after their lease was reaped. Settlement never spills into a later period.
 *
 * Time: nowMs is the calling instance's clock (instances are assumed NTP-synced); every guarantee is stated
 * in nowMs. Redis round trips: admit ≤ 1 and settle ≤ 1 (concurrent calls of one family share one script call,
 * script-batcher.ts; on a busy family a settlement rides with the next admission), remaining 1, usageReport 2. requestId must be unique per
 * request (generated, never a client's x-request-id): it names log entries and the reservation.
 * Redis keeps a key's counters of the two most recent days (and months) it has seen, so an instance whose
 * clock is a little behind at midnight still counts into its own day; one more than a day behind counts
 * nowhere.
 *
 * Redis cost per request (admission + settlement; Redis 7.0, a key with every limit set far above its use
 * and one without limits, 32 reservations in flight, the tokensPerMinute window full; before → with this
 * layout): commands the scripts run 57 → 19 (every limit: admission 30 → 10, settlement 27 → 9) and
 * 48 → 12 (no limits: 22 → 5, 26 → 7); instructions Redis executes (callgrind) 1.76 M → 0.50 M and
 * 0.76 M → 0.32 M, of which 0.08 M is the fixed cost of two script calls; a child key's request (both keys
 * limited) 105 → 32 commands, 3.3 M → 0.8 M instructions. The layout follows from what that profile showed:
 * in the scripts, parsing or formatting a decimal number (tonumber, a Lua number passed to redis.call)
 * costs 2–3 thousand instructions, more than dispatching a command, so numbers the scripts compute with are
 * stored and passed as packed doubles and decimals Redis needs (scores, bounds) come ready from the caller;
 * a key's day, month and lifetime counters and its in-flight count are one small hash read with one HMGET
 * and written with one HSET; the tokensPerMinute window keeps its sum, so an admission reads two fields,
 * not 61 buckets; the duplicate check is the HSETNX that stores the reservation; due reservations cost one
 * ZRANGEBYSCORE when none is due, in a sorted set whose members (the records) keep it a skiplist; TTLs are
 * set when a key or bucket is created, the requestsPerMinute log is trimmed at most once a second, and the
 * usage days index is touched once per key and day. test/integration/limiter-redis.test.ts pins the commands
 * per call.
 */

/** Rolling window of the per-minute limits. */
export const WINDOW_MS = 60_000;
/** tokensPerMinute bucket width. */
export const TPM_BUCKET_MS = 1000;
/** Buckets counted: the current second and the 60 before it (see above). */
export const TPM_WINDOW_BUCKETS = 61;
/** At most this many due reservations / reaped marks are handled per admission: bounded work per call. */
export const REAP_BATCH = 50;
/**
 * Reservation leases with heartbeats (src/limits/heartbeat.ts): every instance renews the leases of its
 * reservations in flight every HEARTBEAT_INTERVAL_MS to RESERVATION_LEASE_MS ahead. A dead instance's last
 * renewal was at most one interval before it died, so its reservations are due at most RESERVATION_LEASE_MS
 * after its death, and reaped (charged as reserved, slots freed) by the next admission of their family: within
 * 30 s of the death (docs/api.md), with one missed heartbeat (a GC pause, a slow Redis) to spare.
 */
export const RESERVATION_LEASE_MS = 20_000;
export const HEARTBEAT_INTERVAL_MS = 5_000;
/** How long a reaped reservation can still be settled (its real usage recorded). */
export const REAPED_RETENTION_MS = 86_400_000;
/** Days of per-day usage kept for reports. */
export const USAGE_RETENTION_DAYS = 400;
/**
 * In-process day/month counters live this long past their period's end (nothing reads them after it; the
 * Redis limiter keeps the previous period until the next one starts, which is longer).
 */
export const PERIOD_KEY_GRACE_MS = 3_600_000;
/** Model names longer than this are truncated in usage records (bounded hash fields). */
export const MAX_MODEL_NAME_LENGTH = 200;
