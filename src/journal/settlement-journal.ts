import { appendFileSync, createReadStream, existsSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import type { SettleInput } from '../limits/types.js';

/**
 * The settlement journal (`store.journalPath`, docs/operations.md): settlements that could not reach Redis, one
 * JSON object per line, kept on local disk until Redis takes them. They are replayed oldest first when Redis is
 * back, or at the next start. Replaying is exactly-once because settlement is idempotent per reservation: a
 * settlement Redis already took (its reply lost in a timeout, or a replay cut short) finds no reservation left
 * and changes nothing.
 *
 * Two files: `<path>` takes new lines; a replay first renames it to `<path>.replaying` and reads that, so lines
 * appended meanwhile are never lost to the replay's clean-up. A replay that fails midway leaves
 * `<path>.replaying` in place, and the next one starts it over (its first lines then change nothing).
 *
 * Appends are synchronous: they happen only while Redis is failing, are a few hundred bytes each, and a line
 * must be on disk before the process may exit counting it as kept.
 */
export interface SettlementJournal {
  readonly path: string;
  /** Writes one settlement; throws when it cannot (disk full, no permission). */
  append(entry: SettleInput): void;
  /** Lines waiting, in both files. */
  pending(): number;
  /**
   * Settles every journaled line through `settle`, oldest first, then removes it from the journal. Rejects at
   * the first settlement that fails, leaving it and every later line journaled. Resolves with how many lines
   * were replayed.
   */
  replay(settle: (entry: SettleInput) => Promise<unknown>): Promise<number>;
}

/** Lines settled at once during a replay: they travel together in the limiter's batches. */
const REPLAY_CHUNK = 64;

export function openSettlementJournal(path: string): SettlementJournal {
  const replaying = `${path}.replaying`;
  mkdirSync(dirname(path), { recursive: true });
  let pending = countLines(path) + countLines(replaying);
  let running: Promise<number> | null = null;

  /** Settles a file's lines; resolves with how many lines it held (unreadable ones included: they are dropped). */
  async function replayFile(file: string, settle: (entry: SettleInput) => Promise<unknown>): Promise<number> {
    let read = 0;
    let chunk: SettleInput[] = [];
    const flush = async (): Promise<void> => {
      await Promise.all(chunk.map((entry) => settle(entry)));
      chunk = [];
    };
    const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        if (line.trim() !== '') read += 1;
        const entry = parseLine(line);
        if (entry !== null) chunk.push(entry);
        if (chunk.length >= REPLAY_CHUNK) await flush();
      }
      await flush();
    } finally {
      lines.close();
    }
    return read;
  }

  async function replayAll(settle: (entry: SettleInput) => Promise<unknown>): Promise<number> {
    let replayed = 0;
    for (;;) {
      if (!existsSync(replaying)) {
        if (!hasContent(path)) return replayed;
        renameSync(path, replaying);
      }
      const lines = await replayFile(replaying, settle);
      unlinkSync(replaying);
      replayed += lines;
      pending = Math.max(0, pending - lines);
    }
  }

  return {
    path,
    append(entry) {
      appendFileSync(path, `${JSON.stringify(entry)}\n`, 'utf8');
      pending += 1;
    },
    pending: () => pending,
    replay(settle) {
      // One replay at a time: two would settle the same lines concurrently (harmless, but twice the work).
      running ??= replayAll(settle).finally(() => {
        running = null;
      });
      return running;
    },
  };
}

function hasContent(file: string): boolean {
  try {
    return statSync(file).size > 0;
  } catch {
    return false;
  }
}

function countLines(file: string): number {
  if (!hasContent(file)) return 0;
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '').length;
}

/** A journaled settlement, or null for a line that is not one (a torn last line after a crash mid-write). */
export function parseLine(line: string): SettleInput | null {
  if (line.trim() === '') return null;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const entry = value as Partial<SettleInput>;
  const reservation = entry.reservation;
  if (typeof reservation !== 'object' || reservation === null || typeof reservation.requestId !== 'string' || typeof reservation.familyId !== 'string') return null;
  if (!Array.isArray(reservation.keyIds) || typeof entry.model !== 'string' || typeof entry.nowMs !== 'number') return null;
  if (!(entry.usage === null || (typeof entry.usage === 'object' && entry.usage !== undefined))) return null;
  return entry as SettleInput;
}
