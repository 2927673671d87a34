import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { createMeteringTransform } from '../../src/usage/metering-stream.js';
import type { MeteringOptions, StreamOutcome } from '../../src/usage/metering-stream.js';
import type { ModelPrice } from '../../src/config/types.js';
import { fixtureBytes } from '../fixtures/xai/index.js';

const GROK_4_FAST: ModelPrice = { input: 0.2, cachedInput: 0.05, output: 0.5 };
const GROK_3_MINI: ModelPrice = { input: 0.3, cachedInput: 0.075, output: 0.5 };
const GROK_CODE_FAST_1: ModelPrice = { input: 0.2, cachedInput: 0.02, output: 1.5 };

async function run(options: MeteringOptions, chunks: readonly Buffer[]): Promise<{ output: Buffer; writes: Buffer[]; outcome: StreamOutcome }> {
  const { transform, outcome } = createMeteringTransform(options);
  const writes: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback): void {
      writes.push(chunk);
      callback();
    },
  });
  await pipeline(Readable.from(chunks, { objectMode: false }), transform, sink);
  return { output: Buffer.concat(writes), writes, outcome: outcome() };
}

function chunked(input: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < input.length; i += size) out.push(input.subarray(i, i + size));
  return out;
}

/** The exact bytes of the one block holding the usage chunk (`"choices":[]` + usage). */
function usageBlock(input: Buffer): string {
  const blocks = input.toString('utf8').split(/(?<=\n\n)/);
  const found = blocks.filter((b) => b.includes('"choices":[]') && b.includes('"usage"'));
  expect(found).toHaveLength(1);
  return found[0] as string;
}

const CHAT_STREAMS = [
  {
    name: 'chat-simple-streaming.sse',
    price: GROK_4_FAST,
    model: 'grok-4-fast-reasoning',
    text: 'Olá!',
    usage: { promptTokens: 165, cachedTokens: 164, completionTokens: 2, reasoningTokens: 129, totalTokens: 296, costTicks: 739_000 },
  },
  {
    name: 'chat-tool-streaming.sse',
    price: GROK_4_FAST,
    model: 'grok-4-fast-reasoning',
    text: '{"location":"Florence, Italy"}',
    usage: { promptTokens: 361, cachedTokens: 360, completionTokens: 26, reasoningTokens: 235, totalTokens: 622, costTicks: 1_487_000 },
  },
  {
    name: 'chat-reasoning-streaming.sse',
    price: GROK_3_MINI,
    model: 'grok-3-mini',
    text: 'First,Hello',
    usage: { promptTokens: 12, cachedTokens: 11, completionTokens: 1, reasoningTokens: 290, totalTokens: 303, costTicks: 1_466_250 },
  },
];

describe('metering chat streams (docs/upstream.md §5.1)', () => {
  it.each(CHAT_STREAMS)('$name: exact usage, text, model; output === input byte for byte', async ({ name, price, model, text, usage }) => {
    const input = fixtureBytes(name);
    const { output, outcome } = await run({ kind: 'chat', stripUsageChunk: false, price }, chunked(input, 17));
    expect(output.equals(input)).toBe(true);
    expect(outcome).toEqual({
      usage: { ...usage, costFromUpstream: true },
      streamedBytes: Buffer.byteLength(text),
      eventCount: input.toString('utf8').split('\n\n').length - 1,
      upstreamError: null,
      completed: true,
      model,
    });
  });

  it.each(CHAT_STREAMS)('$name: stripUsageChunk removes exactly the usage chunk and still records usage', async ({ name, price, usage }) => {
    const input = fixtureBytes(name);
    const expected = input.toString('utf8').replace(usageBlock(input), '');
    expect(expected.length).toBeLessThan(input.length);
    for (const size of [1, 3, 64, input.length]) {
      const { output, outcome } = await run({ kind: 'chat', stripUsageChunk: true, price }, chunked(input, size));
      expect(output.toString('utf8')).toBe(expected);
      expect(outcome.usage).toEqual({ ...usage, costFromUpstream: true });
      expect(outcome.eventCount).toBe(expected.split('\n\n').length - 1);
      expect(outcome.completed).toBe(true);
    }
  });

  it('CRLF framing: same usage, strip still removes the whole usage event', async () => {
    const input = Buffer.from(fixtureBytes('chat-simple-streaming.sse').toString('utf8').replace(/\n/g, '\r\n'));
    const block = input.toString('utf8').split(/(?<=\r\n\r\n)/).find((b) => b.includes('"choices":[]'));
    expect(block).toBeDefined();
    const { output, outcome } = await run({ kind: 'chat', stripUsageChunk: true, price: GROK_4_FAST }, chunked(input, 5));
    expect(output.toString('utf8')).toBe(input.toString('utf8').replace(block as string, ''));
    expect(outcome.usage?.costTicks).toBe(739_000);
  });

  it('forwards each event as soon as it is complete, as its own write, without re-encoding', async () => {
    const input = fixtureBytes('chat-simple-streaming.sse');
    const { writes } = await run({ kind: 'chat', stripUsageChunk: false, price: GROK_4_FAST }, [input]);
    expect(writes.map((w) => w.toString('utf8'))).toEqual(input.toString('utf8').split(/(?<=\n\n)/));

    const { transform } = createMeteringTransform({ kind: 'chat', stripUsageChunk: false, price: GROK_4_FAST });
    const firstEnd = input.indexOf('\n\n') + 2;
    transform.write(input.subarray(0, firstEnd + 10));
    const early = transform.read() as Buffer | null;
    expect(early?.equals(input.subarray(0, firstEnd))).toBe(true);
    expect(transform.read()).toBeNull();
    transform.destroy();
  });

  it('legacy style (usage on every chunk): keeps the last cumulative usage and strips nothing', async () => {
    const first = fixtureBytes('chat-legacy-chunk.sse').toString('utf8');
    // Second chunk: the same recorded chunk with cumulative counts advanced (synthetic, shape unchanged).
    const second = first.replace('"content":"Ah"', '"content":" yes"').replace('"completion_tokens":1,"total_tokens":42', '"completion_tokens":2,"total_tokens":43');
    const input = Buffer.from(first + second + 'data: [DONE]\n\n');
    const { output, outcome } = await run({ kind: 'chat', stripUsageChunk: true, price: { input: 5, output: 15 } }, chunked(input, 9));
    expect(output.equals(input)).toBe(true);
    expect(outcome.streamedBytes).toBe(Buffer.byteLength('Ah yes'));
    expect(outcome.model).toBe('grok-beta');
    expect(outcome.usage).toEqual({
      promptTokens: 41, cachedTokens: 0, completionTokens: 2, reasoningTokens: 0, totalTokens: 43,
      costTicks: 41 * 50_000 + 2 * 150_000, costFromUpstream: false,
    });
  });

  it('mid-stream {"code":"internal"} error (§5.1, §6.4) is reported and forwarded', async () => {
    const events = fixtureBytes('chat-simple-streaming.sse').toString('utf8').split(/(?<=\n\n)/);
    const input = Buffer.from(events.slice(0, 2).join('') + 'data: {"code":"internal","error":"Please retry your request."}\n\n');
    const { output, outcome } = await run({ kind: 'chat', stripUsageChunk: true, price: GROK_4_FAST }, chunked(input, 11));
    expect(output.equals(input)).toBe(true);
    expect(outcome).toEqual({
      usage: null,
      streamedBytes: Buffer.byteLength('Olá!'),
      eventCount: 3,
      upstreamError: { code: 'internal', error: 'Please retry your request.' },
      completed: false,
      model: 'grok-4-fast-reasoning',
    });
  });

  it('a stream cut before the usage chunk: usage null, the text so far, partial event flushed unchanged', async () => {
    const input = fixtureBytes('chat-reasoning-streaming.sse');
    const cut = input.indexOf('"content":"Hello"') + 40;
    const truncated = input.subarray(0, cut);
    const { output, outcome } = await run({ kind: 'chat', stripUsageChunk: true, price: GROK_3_MINI }, chunked(truncated, 13));
    expect(output.equals(truncated)).toBe(true);
    expect(outcome.usage).toBeNull();
    expect(outcome.completed).toBe(false);
    expect(outcome.streamedBytes).toBe(Buffer.byteLength('First,Hello'));
    expect(outcome.eventCount).toBe(3);
  });

  it('outcome() is a snapshot usable before the stream ends', () => {
    const input = fixtureBytes('chat-simple-streaming.sse');
    const { transform, outcome } = createMeteringTransform({ kind: 'chat', stripUsageChunk: false, price: GROK_4_FAST });
    transform.write(input.subarray(0, input.indexOf('\n\n') + 2));
    const snapshot = outcome();
    expect(snapshot).toMatchObject({ streamedBytes: Buffer.byteLength('Olá'), eventCount: 1, completed: false, usage: null });
    transform.write(input.subarray(input.indexOf('\n\n') + 2));
    expect(snapshot.streamedBytes).toBe(4);
    expect(outcome()).toMatchObject({ streamedBytes: Buffer.byteLength('Olá!'), completed: true, usage: { costTicks: 739_000 } });
    transform.destroy();
  });

  it('respects backpressure: write() returns false once the readable side is full, and nothing is lost', async () => {
    const { transform } = createMeteringTransform({ kind: 'chat', stripUsageChunk: false, price: undefined });
    const event = Buffer.from(`data: {"choices":[{"index":0,"delta":{"content":"${'x'.repeat(1000)}"}}]}\n\n`);
    let writes = 0;
    while (transform.write(event)) {
      writes += 1;
      expect(writes).toBeLessThan(1000);
    }
    transform.end();
    const received: Buffer[] = [];
    for await (const chunk of transform) received.push(chunk as Buffer);
    expect(Buffer.concat(received).equals(Buffer.concat(Array.from({ length: writes + 1 }, () => event)))).toBe(true);
  });
});

describe('metering responses streams (docs/upstream.md §5.2)', () => {
  const expectedUsage = {
    promptTokens: 216, cachedTokens: 192, completionTokens: 863 - 237, reasoningTokens: 237, totalTokens: 1079,
    costTicks: (216 - 192) * 2000 + 192 * 200 + 863 * 15_000, costFromUpstream: false,
  };
  const withLabels = fixtureBytes('responses-text-streaming.sse');
  const dataOnly = Buffer.from(withLabels.toString('utf8').replace(/^event: .*\n/gm, ''));

  it.each([
    { framing: 'event: + data:', input: withLabels },
    { framing: 'data only', input: dataOnly },
  ])('$framing: usage from response.completed, text deltas, model; bytes unchanged', async ({ input }) => {
    for (const stripUsageChunk of [false, true]) {
      const { output, outcome } = await run({ kind: 'responses', stripUsageChunk, price: GROK_CODE_FAST_1 }, chunked(input, 23));
      expect(output.equals(input)).toBe(true);
      expect(outcome).toEqual({
        usage: expectedUsage,
        streamedBytes: Buffer.byteLength('First, the user wants a heading.### Hello\n\n"quoted"'),
        eventCount: 18,
        upstreamError: null,
        completed: true,
        model: 'grok-code-fast-1',
      });
    }
  });

  it('cut before response.completed: no usage, not completed, text so far', async () => {
    const text = withLabels.toString('utf8');
    const input = Buffer.from(text.slice(0, text.indexOf('event: response.output_text.done')));
    const { outcome } = await run({ kind: 'responses', stripUsageChunk: false, price: GROK_CODE_FAST_1 }, [input]);
    expect(outcome).toMatchObject({ usage: null, completed: false, model: 'grok-code-fast-1' });
    expect(outcome.streamedBytes).toBe(Buffer.byteLength('First, the user wants a heading.### Hello\n\n"quoted"'));
  });

  it.each([
    {
      name: 'response.failed with response.error and usage',
      event: 'event: response.failed\ndata: {"sequence_number":3,"type":"response.failed","response":{"model":"grok-4","status":"failed","error":{"code":"server_error","message":"boom"},"usage":{"input_tokens":5,"output_tokens":0,"cost_in_usd_ticks":1000}}}\n\n',
      expected: { upstreamError: { code: 'server_error', error: 'boom' }, completed: true, usage: { promptTokens: 5, totalTokens: 5, costTicks: 1000, costFromUpstream: true } },
    },
    {
      name: 'error event',
      event: 'event: error\ndata: {"sequence_number":3,"type":"error","code":"rate_limit_exceeded","message":"slow down","param":null}\n\n',
      expected: { upstreamError: { code: 'rate_limit_exceeded', error: 'slow down' }, completed: false, usage: null },
    },
    {
      name: 'flat xAI error',
      event: 'data: {"code":"internal","error":"Please retry your request."}\n\n',
      expected: { upstreamError: { code: 'internal', error: 'Please retry your request.' }, completed: false, usage: null },
    },
    {
      name: 'response.incomplete',
      event: 'data: {"sequence_number":3,"type":"response.incomplete","response":{"status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"usage":{"input_tokens":5,"output_tokens":7,"output_tokens_details":{"reasoning_tokens":7}}}}\n\n',
      expected: { upstreamError: null, completed: true, usage: { promptTokens: 5, completionTokens: 0, reasoningTokens: 7, totalTokens: 12 } },
    },
  ])('$name', async ({ event, expected }) => {
    const head = withLabels.toString('utf8').split(/(?<=\n\n)/).slice(0, 2).join('');
    const input = Buffer.from(head + event);
    const { output, outcome } = await run({ kind: 'responses', stripUsageChunk: false, price: undefined }, chunked(input, 7));
    expect(output.equals(input)).toBe(true);
    expect(outcome).toMatchObject(expected);
  });
});

describe('an upstream event without end', () => {
  it('relays the complete events, then ends the stream with an error once a partial event passes the bound', async () => {
    const metering = createMeteringTransform({ kind: 'chat', stripUsageChunk: false, price: undefined, maxEventBytes: 1024 });
    const written: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        written.push(chunk);
        callback();
      },
    });
    const first = Buffer.from('data: {"choices":[{"delta":{"content":"Hi"}}]}\n\n');
    // Never terminated: 64 KiB of one data line.
    const endless = Array.from({ length: 64 }, () => Buffer.from(`data: ${'x'.repeat(1018)}\n`));
    await expect(pipeline(Readable.from([first, ...endless]), metering.transform, sink)).rejects.toThrow(/grew past 1024 bytes/);
    expect(Buffer.concat(written).toString()).toBe(first.toString());
    expect(metering.outcome()).toMatchObject({ eventCount: 1, streamedBytes: 2, completed: false });
  });
});
