import { describe, expect, it } from 'vitest';
import {
  IMAGE_TOKENS,
  MESSAGE_OVERHEAD_TOKENS,
  estimatePromptTokens,
  estimateTokensFromText,
  outputCapOf,
} from '../../src/usage/estimate.js';

describe('estimateTokensFromText', () => {
  it.each([
    ['', 0],
    ['a', 1],
    ['abcd', 1],
    ['abcde', 2],
    ['Hello, world! How are you?', 7],
    ['漢字', 2], // 6 UTF-8 bytes: non-Latin text errs high
    ['😀', 1],
  ])('%j → %d', (text, tokens) => {
    expect(estimateTokensFromText(text)).toBe(tokens);
  });
});

describe('estimatePromptTokens', () => {
  const text40 = 'x'.repeat(40); // 10 tokens

  it.each([
    { name: 'chat string content', body: { model: 'm', messages: [{ role: 'user', content: text40 }] }, tokens: 10 + MESSAGE_OVERHEAD_TOKENS },
    {
      name: 'chat parts with an image',
      body: { messages: [{ role: 'user', content: [{ type: 'text', text: text40 }, { type: 'image_url', image_url: { url: `data:image/png;base64,${'A'.repeat(10_000)}` } }] }] },
      tokens: 10 + IMAGE_TOKENS + MESSAGE_OVERHEAD_TOKENS,
    },
    {
      name: 'assistant tool calls and reasoning_content, tool result',
      body: {
        messages: [
          { role: 'assistant', content: '', reasoning_content: text40, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'abcd', arguments: text40 } }] },
          { role: 'tool', tool_call_id: 'call_1', content: text40 },
        ],
      },
      tokens: 10 + 1 + 10 + 10 + 2 * MESSAGE_OVERHEAD_TOKENS,
    },
    { name: 'responses string input + instructions', body: { input: text40, instructions: text40 }, tokens: 20 },
    {
      name: 'responses items with input_text / input_image / function_call_output',
      body: {
        input: [
          { role: 'user', content: [{ type: 'input_text', text: text40 }, { type: 'input_image', image_url: 'https://example.invalid/a.png' }] },
          { type: 'function_call_output', call_id: 'fc_1', output: text40 },
        ],
      },
      tokens: 10 + IMAGE_TOKENS + 10 + 2 * MESSAGE_OVERHEAD_TOKENS,
    },
    { name: 'embeddings token ids', body: { input: [[1, 2, 3], [4, 5]] }, tokens: 5 },
    { name: 'embeddings string list', body: { input: [text40, text40] }, tokens: 20 },
    { name: 'legacy prompt', body: { prompt: text40 }, tokens: 10 },
    { name: 'tool definitions count', body: { tools: [{ type: 'function', function: { name: 'abcd', description: text40 } }] }, tokens: 11 },
    { name: 'no input fields', body: { model: 'm' }, tokens: 0 },
  ])('$name', ({ body, tokens }) => {
    expect(estimatePromptTokens(body)).toBe(tokens);
  });

  it('is deterministic and never throws on odd shapes', () => {
    const deep: Record<string, unknown> = {};
    let cursor = deep;
    for (let i = 0; i < 10_000; i += 1) {
      const next: Record<string, unknown> = {};
      cursor['content'] = next;
      cursor = next;
    }
    const odd: unknown[] = [null, undefined, 3, 'text', [], { messages: 'x' }, { messages: [null, 1, [], 'a'] }, { input: { nested: true } }, { messages: [deep] }];
    for (const body of odd) {
      expect(() => estimatePromptTokens(body)).not.toThrow();
      expect(estimatePromptTokens(body)).toBe(estimatePromptTokens(body));
    }
  });
});

describe('outputCapOf', () => {
  it.each([
    [{}, { kind: 'none' }],
    [null, { kind: 'none' }],
    [{ max_tokens: null }, { kind: 'none' }],
    [{ max_tokens: 100 }, { kind: 'cap', tokens: 100, field: 'max_tokens' }],
    [{ max_completion_tokens: 50, max_tokens: 100 }, { kind: 'cap', tokens: 50, field: 'max_completion_tokens' }],
    [{ max_output_tokens: 4096 }, { kind: 'cap', tokens: 4096, field: 'max_output_tokens' }],
    [{ max_tokens: 0 }, { kind: 'invalid', field: 'max_tokens' }],
    [{ max_tokens: -1 }, { kind: 'invalid', field: 'max_tokens' }],
    [{ max_tokens: 1.5 }, { kind: 'invalid', field: 'max_tokens' }],
    [{ max_completion_tokens: '100' }, { kind: 'invalid', field: 'max_completion_tokens' }],
    [{ max_output_tokens: 2 ** 60 }, { kind: 'invalid', field: 'max_output_tokens' }],
    [{ max_tokens: 10, max_output_tokens: true }, { kind: 'invalid', field: 'max_output_tokens' }],
  ])('%j → %j', (body, expected) => {
    expect(outputCapOf(body)).toEqual(expected);
  });
});
