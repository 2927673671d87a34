/**
 * Incremental Server-Sent Events decoder (WHATWG HTML "Parsing an event stream") that keeps each event's
 * exact bytes, so the metering pass-through (docs/api.md "Streams ... passed on event by event") can forward
 * or drop whole events without re-encoding anything.
 *
 * Chunk boundaries may fall anywhere: inside a CRLF, inside a multi-byte UTF-8 character, between the two
 * line ends closing an event. Lines are split on raw bytes (CR and LF never occur inside a UTF-8 multi-byte
 * sequence) and decoded only once complete, so no character is ever cut.
 *
 * Unlike a browser EventSource, every blank-line-terminated block is returned, including blocks holding only
 * comments or unknown fields (keep-alives): a pass-through must account for every byte. Consumers that only
 * care about dispatchable events ignore blocks whose `data` is '' and `event` is null.
 */

export interface SseEvent {
  /** Value of the block's last `event:` field, null when absent (WHATWG default type "message"). */
  event: string | null;
  /** `data:` lines joined with "\n" ('' when the block had none). */
  data: string;
  /** Value of the block's last valid `id:` field, null when the block set none (not carried over blocks). */
  id: string | null;
  /** Exact bytes of the block including its terminating blank line (none for a trailing partial block). */
  raw: Buffer;
}

export interface SseDecoder {
  /** Feed bytes; returns the events completed by them, in order. */
  push(chunk: Buffer): SseEvent[];
  /** Events completed by end of input, plus a trailing partial event if any. The decoder is then reset. */
  end(): SseEvent[];
  /** Bytes held as an incomplete event. */
  readonly pendingBytes: number;
}

const LF = 0x0a;
const CR = 0x0d;

interface BlockFields {
  event: string | null;
  dataLines: string[];
  id: string | null;
}

function emptyFields(): BlockFields {
  return { event: null, dataLines: [], id: null };
}

function applyLine(fields: BlockFields, line: string): void {
  if (line.startsWith(':')) return; // comment
  const colon = line.indexOf(':');
  const name = colon === -1 ? line : line.slice(0, colon);
  let value = colon === -1 ? '' : line.slice(colon + 1);
  if (value.startsWith(' ')) value = value.slice(1);
  switch (name) {
    case 'event':
      fields.event = value;
      break;
    case 'data':
      fields.dataLines.push(value);
      break;
    case 'id':
      // WHATWG: an id containing U+0000 is ignored.
      if (!value.includes('\u0000')) fields.id = value;
      break;
    default:
      // `retry` and unknown fields do not affect what a pass-through needs.
      break;
  }
}

function toEvent(fields: BlockFields, raw: Buffer): SseEvent {
  return { event: fields.event, data: fields.dataLines.join('\n'), id: fields.id, raw };
}

function concat(parts: readonly Buffer[]): Buffer {
  if (parts.length === 1) return parts[0] as Buffer;
  return Buffer.concat(parts);
}

export function createSseDecoder(): SseDecoder {
  /** Bytes of the current block from earlier chunks (completed lines and the start of the current line). */
  let blockParts: Buffer[] = [];
  let blockBytes = 0;
  /** Bytes of the current, not yet terminated line from earlier chunks. */
  let lineParts: Buffer[] = [];
  let fields = emptyFields();
  /** The last line ended with CR at a chunk end: an LF first in the next chunk belongs to that line end. */
  let pendingCr = false;
  /** That CR-terminated line was blank, so the block ends once we know whether an LF follows. */
  let pendingBlankLine = false;
  let atStreamStart = true;

  function decodeLine(bytes: Buffer): string {
    let line = bytes.toString('utf8');
    if (atStreamStart) {
      atStreamStart = false;
      // WHATWG: one leading U+FEFF BOM is ignored.
      if (line.startsWith('\uFEFF')) line = line.slice(1);
    }
    return line;
  }

  function finishBlock(tail: Buffer, out: SseEvent[]): void {
    blockParts.push(tail);
    out.push(toEvent(fields, concat(blockParts)));
    blockParts = [];
    blockBytes = 0;
    fields = emptyFields();
  }

  function push(chunk: Buffer): SseEvent[] {
    const out: SseEvent[] = [];
    if (chunk.length === 0) return out;
    let blockStart = 0;
    let pos = 0;
    if (pendingCr) {
      pendingCr = false;
      if (chunk[0] === LF) pos = 1;
      if (pendingBlankLine) {
        pendingBlankLine = false;
        finishBlock(chunk.subarray(0, pos), out);
        blockStart = pos;
      }
    }
    let lineStart = pos;
    // Next LF / CR positions, cached so a chunk with many lines is scanned once (-1: none left).
    let lf = -2;
    let cr = -2;
    while (pos < chunk.length) {
      if (lf !== -1 && lf < pos) lf = chunk.indexOf(LF, pos);
      if (cr !== -1 && cr < pos) cr = chunk.indexOf(CR, pos);
      const end = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
      if (end === -1) break;
      const lineBytes = lineParts.length === 0 ? chunk.subarray(lineStart, end) : concat([...lineParts, chunk.subarray(lineStart, end)]);
      lineParts = [];
      let next = end + 1;
      if (chunk[end] === CR) {
        if (next < chunk.length) {
          if (chunk[next] === LF) next += 1;
        } else {
          pendingCr = true;
        }
      }
      if (lineBytes.length === 0) {
        atStreamStart = false;
        if (pendingCr) {
          pendingBlankLine = true;
        } else {
          finishBlock(chunk.subarray(blockStart, next), out);
          blockStart = next;
        }
      } else {
        applyLine(fields, decodeLine(lineBytes));
      }
      pos = next;
      lineStart = next;
    }
    if (lineStart < chunk.length) lineParts.push(chunk.subarray(lineStart));
    if (blockStart < chunk.length) {
      const rest = chunk.subarray(blockStart);
      blockParts.push(rest);
      blockBytes += rest.length;
    }
    return out;
  }

  function end(): SseEvent[] {
    const out: SseEvent[] = [];
    if (pendingBlankLine) {
      finishBlock(Buffer.alloc(0), out);
    } else if (blockBytes > 0) {
      // Trailing partial event: an unterminated last line still counts, so e.g. a final `data: [DONE]`
      // without its blank line is seen.
      if (lineParts.length > 0) applyLine(fields, decodeLine(concat(lineParts)));
      finishBlock(Buffer.alloc(0), out);
    }
    blockParts = [];
    blockBytes = 0;
    lineParts = [];
    fields = emptyFields();
    pendingCr = false;
    pendingBlankLine = false;
    atStreamStart = true;
    return out;
  }

  return {
    push,
    end,
    get pendingBytes(): number {
      return blockBytes;
    },
  };
}
