import { describe, expect, it } from 'vitest';
import { createSseDecoder } from '../../src/usage/sse-decoder.js';
import type { SseEvent } from '../../src/usage/sse-decoder.js';
import { SSE_FIXTURES, fixtureBytes } from '../fixtures/xai/index.js';
import { prng } from '../helpers/prng.js';

interface PlainEvent {
  event: string | null;
  data: string;
  id: string | null;
  raw: string;
}

function plain(events: readonly SseEvent[]): PlainEvent[] {
  return events.map((e) => ({ event: e.event, data: e.data, id: e.id, raw: e.raw.toString('hex') }));
}

function decodeChunks(chunks: readonly Buffer[]): SseEvent[] {
  const decoder = createSseDecoder();
  const out: SseEvent[] = [];
  for (const chunk of chunks) out.push(...decoder.push(chunk));
  out.push(...decoder.end());
  return out;
}

function splitAt(input: Buffer, cuts: readonly number[]): Buffer[] {
  const sorted = [...cuts].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const cut of sorted) {
    chunks.push(input.subarray(from, cut));
    from = cut;
  }
  chunks.push(input.subarray(from));
  return chunks;
}


function withLineEnd(input: Buffer, lineEnd: string): Buffer {
  return Buffer.from(input.toString('utf8').replace(/\n/g, lineEnd), 'utf8');
}

const variants = SSE_FIXTURES.flatMap((name) => [
  { name: `${name} (LF)`, input: fixtureBytes(name) },
  { name: `${name} (CRLF)`, input: withLineEnd(fixtureBytes(name), '\r\n') },
  { name: `${name} (CR)`, input: withLineEnd(fixtureBytes(name), '\r') },
]);

describe('sse decoder on recorded fixtures', () => {
  it.each(SSE_FIXTURES)('%s decodes into data events whose raw bytes concatenate back to the input', (name) => {
    const input = fixtureBytes(name);
    const events = decodeChunks([input]);
    expect(Buffer.concat(events.map((e) => e.raw)).equals(input)).toBe(true);
    const dataLines = input.toString('utf8').split('\n').filter((l) => l.startsWith('data: '));
    expect(events.map((e) => e.data)).toEqual(dataLines.map((l) => l.slice('data: '.length)));
    for (const e of events) {
      if (e.data !== '[DONE]') expect(() => JSON.parse(e.data) as unknown).not.toThrow();
      expect(e.id).toBeNull();
    }
  });

  it('keeps the event: labels of the responses stream and finds the [DONE] of chat streams', () => {
    const responses = decodeChunks([fixtureBytes('responses-text-streaming.sse')]);
    expect(responses[0]?.event).toBe('response.created');
    expect(responses.at(-1)?.event).toBe('response.completed');
    const chat = decodeChunks([fixtureBytes('chat-simple-streaming.sse')]);
    expect(chat.map((e) => e.event)).toEqual([null, null, null, null, null]);
    expect(chat.at(-1)?.data).toBe('[DONE]');
  });

  it.each(variants)('$name: a split at every byte position yields identical events', ({ input }) => {
    const reference = plain(decodeChunks([input]));
    expect(reference.length).toBeGreaterThan(0);
    for (let cut = 0; cut <= input.length; cut += 1) {
      const events = decodeChunks(splitAt(input, [cut]));
      expect(plain(events)).toEqual(reference);
    }
  });

  it.each(variants)('$name: random multi-splits and byte-by-byte feeding yield identical events', ({ input }) => {
    const reference = plain(decodeChunks([input]));
    const random = prng(input.length);
    for (let run = 0; run < 200; run += 1) {
      const cuts = Array.from({ length: 1 + Math.floor(random() * 12) }, () => Math.floor(random() * (input.length + 1)));
      expect(plain(decodeChunks(splitAt(input, cuts)))).toEqual(reference);
    }
    const bytes = Array.from({ length: input.length }, (_, i) => input.subarray(i, i + 1));
    expect(plain(decodeChunks(bytes))).toEqual(reference);
  });

  it('line-end style does not change fields, only raw bytes', () => {
    for (const name of SSE_FIXTURES) {
      const lf = decodeChunks([fixtureBytes(name)]).map((e) => [e.event, e.data, e.id]);
      const crlf = decodeChunks([withLineEnd(fixtureBytes(name), '\r\n')]).map((e) => [e.event, e.data, e.id]);
      const cr = decodeChunks([withLineEnd(fixtureBytes(name), '\r')]).map((e) => [e.event, e.data, e.id]);
      expect(crlf).toEqual(lf);
      expect(cr).toEqual(lf);
    }
  });
});

describe('sse decoder, WHATWG field rules', () => {
  const cases: { name: string; input: string; expected: Omit<PlainEvent, 'raw'>[] }[] = [
    { name: 'data with and without the optional space', input: 'data: a\n\ndata:b\n\ndata:  c\n\n', expected: [
      { event: null, data: 'a', id: null },
      { event: null, data: 'b', id: null },
      { event: null, data: ' c', id: null },
    ] },
    { name: 'multiple data lines join with LF', input: 'data: one\ndata: two\ndata\n\n', expected: [
      { event: null, data: 'one\ntwo\n', id: null },
    ] },
    { name: 'comments and unknown fields are kept as a block', input: ': keep-alive\n\nfoo: bar\nretry: 10\ndata: x\n\n', expected: [
      { event: null, data: '', id: null },
      { event: null, data: 'x', id: null },
    ] },
    { name: 'event and id, last one wins, id with NUL ignored', input: 'event: a\nevent: b\nid: 1\nid: 2\u0000\ndata: d\n\nid: 3\n\n', expected: [
      { event: 'b', data: 'd', id: '1' },
      { event: null, data: '', id: '3' },
    ] },
    { name: 'fields are per block (event type resets)', input: 'event: x\ndata: 1\n\ndata: 2\n\n', expected: [
      { event: 'x', data: '1', id: null },
      { event: null, data: '2', id: null },
    ] },
    { name: 'a leading BOM is ignored', input: '\uFEFFdata: a\n\n', expected: [{ event: null, data: 'a', id: null }] },
    { name: 'mixed line ends', input: 'data: a\r\ndata: b\rdata: c\n\r\ndata: d\r\r', expected: [
      { event: null, data: 'a\nb\nc', id: null },
      { event: null, data: 'd', id: null },
    ] },
    { name: 'leading blank lines form their own blocks', input: '\n\r\ndata: a\n\n', expected: [
      { event: null, data: '', id: null },
      { event: null, data: '', id: null },
      { event: null, data: 'a', id: null },
    ] },
  ];

  it.each(cases)('$name', ({ input, expected }) => {
    const bytes = Buffer.from(input, 'utf8');
    for (let cut = 0; cut <= bytes.length; cut += 1) {
      const events = decodeChunks(splitAt(bytes, [cut]));
      expect(events.map(({ event, data, id }) => ({ event, data, id }))).toEqual(expected);
      expect(Buffer.concat(events.map((e) => e.raw)).equals(bytes)).toBe(true);
    }
  });

  it('survives splits inside 2-, 3- and 4-byte UTF-8 characters', () => {
    const text = 'data: Olá — 漢字 😀\r\n\r\n';
    const bytes = Buffer.from(text, 'utf8');
    for (let a = 0; a <= bytes.length; a += 1) {
      for (let b = a; b <= bytes.length; b += 1) {
        const events = decodeChunks(splitAt(bytes, [a, b]));
        expect(events.map((e) => e.data)).toEqual(['Olá — 漢字 😀']);
        expect(events[0]?.raw.equals(bytes)).toBe(true);
      }
    }
  });
});

describe('sse decoder, incremental behaviour', () => {
  it('returns each event as soon as its blank line arrives and reports pending bytes', () => {
    const decoder = createSseDecoder();
    expect(decoder.push(Buffer.from('data: a\n'))).toEqual([]);
    expect(decoder.pendingBytes).toBe(8);
    const first = decoder.push(Buffer.from('\ndata: b'));
    expect(first.map((e) => e.raw.toString())).toEqual(['data: a\n\n']);
    expect(decoder.pendingBytes).toBe(7);
    expect(decoder.push(Buffer.from('\n\n')).map((e) => e.data)).toEqual(['b']);
    expect(decoder.pendingBytes).toBe(0);
    expect(decoder.end()).toEqual([]);
  });

  it('a CR at a chunk end waits for a possible LF before completing the event', () => {
    const decoder = createSseDecoder();
    expect(decoder.push(Buffer.from('data: a\r\n\r'))).toEqual([]);
    const events = decoder.push(Buffer.from('\ndata: b\r\n\r'));
    expect(events.map((e) => e.raw.toString())).toEqual(['data: a\r\n\r\n']);
    const last = decoder.push(Buffer.from('data: c\n\n'));
    expect(last.map((e) => e.raw.toString())).toEqual(['data: b\r\n\r', 'data: c\n\n']);
  });

  it('end() completes an event held on a final CR and returns a trailing partial event with its fields', () => {
    const held = createSseDecoder();
    expect(held.push(Buffer.from('data: a\r\r'))).toEqual([]);
    expect(held.end().map((e) => [e.data, e.raw.toString()])).toEqual([['a', 'data: a\r\r']]);

    const partial = createSseDecoder();
    expect(partial.push(Buffer.from('data: x\n\ndata: [DONE]\ndata: tail'))).toHaveLength(1);
    const rest = partial.end();
    expect(rest.map((e) => [e.data, e.raw.toString()])).toEqual([['[DONE]\ntail', 'data: [DONE]\ndata: tail']]);
    expect(partial.pendingBytes).toBe(0);
    expect(partial.end()).toEqual([]);
  });

  it('ignores empty chunks', () => {
    const decoder = createSseDecoder();
    expect(decoder.push(Buffer.alloc(0))).toEqual([]);
    expect(decoder.push(Buffer.from('data: a\n\n')).map((e) => e.data)).toEqual(['a']);
  });
});
