/**
 * The fake's model catalogue: ids, aliases and prices. Prices are the `*_token_price` numbers of
 * /v1/language-models, which are exactly ticks per token (docs/upstream.md §3.5, §4.4); values from docs/upstream.md §8.
 */

export type ModelKind = 'language' | 'image' | 'video' | 'embedding';

export interface FakeModel {
  readonly id: string;
  readonly kind: ModelKind;
  readonly aliases: readonly string[];
  readonly created: number;
  readonly fingerprint: string;
  /** Ticks per prompt token. */
  readonly inputPrice: number;
  /** Ticks per cached prompt token. */
  readonly cachedInputPrice: number;
  /** Ticks per completion (and reasoning) token. */
  readonly outputPrice: number;
  /** Reports reasoning_tokens > 0 (docs/upstream.md §4.1); grok-4 is reasoning-only (§8). */
  readonly reasoning: boolean;
  /** Returns message.reasoning_content (grok-3-mini, grok-code-fast-1; not grok-4, docs/upstream.md §3.1). */
  readonly exposesReasoningContent: boolean;
}

function language(
  id: string,
  aliases: readonly string[],
  prices: readonly [number, number, number],
  flags: { reasoning: boolean; exposesReasoningContent?: boolean; created: number },
): FakeModel {
  return {
    id,
    kind: 'language',
    aliases,
    created: flags.created,
    fingerprint: `fp_${id.replace(/[^a-z0-9]/g, '').slice(0, 10).padEnd(10, '0')}`,
    inputPrice: prices[0],
    cachedInputPrice: prices[1],
    outputPrice: prices[2],
    reasoning: flags.reasoning,
    exposesReasoningContent: flags.exposesReasoningContent ?? false,
  };
}

function other(id: string, kind: ModelKind, created: number, inputPrice: number): FakeModel {
  return {
    id,
    kind,
    aliases: [],
    created,
    fingerprint: `fp_${kind}0000000`.slice(0, 13),
    inputPrice,
    cachedInputPrice: 0,
    outputPrice: 0,
    reasoning: false,
    exposesReasoningContent: false,
  };
}

export const FAKE_MODELS: readonly FakeModel[] = [
  // grok-4-0709 prices are third-party only (docs/upstream.md §8, UNVERIFIED).
  language('grok-4-0709', ['grok-4', 'grok-4-latest'], [30_000, 7_500, 150_000], { reasoning: true, created: 1752019200 }),
  // 0.20 / 0.05 / 0.50 $/M reproduces every [FAN] cost exactly (docs/upstream.md §4.4).
  language('grok-4-fast-reasoning', ['grok-4-fast', 'grok-4-fast-reasoning-latest'], [2_000, 500, 5_000], {
    reasoning: true,
    created: 1758240000,
  }),
  language('grok-4-fast-non-reasoning', ['grok-4-fast-non-reasoning-latest'], [2_000, 500, 5_000], {
    reasoning: false,
    created: 1758240000,
  }),
  language('grok-code-fast-1', ['grok-code-fast', 'grok-code-fast-1-0825'], [2_000, 200, 15_000], {
    reasoning: true,
    exposesReasoningContent: true,
    created: 1755993600,
  }),
  language('grok-3', ['grok-3-latest', 'grok-3-beta'], [30_000, 7_500, 150_000], { reasoning: false, created: 1743724800 }),
  language('grok-3-mini', ['grok-3-mini-latest', 'grok-3-mini-beta'], [3_000, 750, 5_000], {
    reasoning: true,
    exposesReasoningContent: true,
    created: 1743724800,
  }),
  // Per-token prices as listed in §3.5; the fake bills images per image and videos per second instead.
  other('grok-imagine-image', 'image', 1738961600, 100_000),
  other('grok-imagine-video', 'video', 1754006400, 0),
  other('v1', 'embedding', 1725148800, 100),
];

/** $0.02 per generated image (docs/upstream.md §3.7, [DOC-cost] 200000000 ticks). */
export const IMAGE_PRICE_TICKS = 200_000_000;
/** Per second of generated video; xAI's video price is not in docs/upstream.md, this number is the fake's own. */
export const VIDEO_PRICE_TICKS_PER_SECOND = 500_000_000;

export const FAKE_TEAM = 'fake-team';

/** Resolves an id or alias to the canonical model of the given kind (docs/upstream.md §11 "For the fake" 2). */
export function resolveModel(name: string, kind: ModelKind): FakeModel | undefined {
  return FAKE_MODELS.find((m) => m.kind === kind && (m.id === name || m.aliases.includes(name)));
}

export function modelsOfKind(kind: ModelKind): FakeModel[] {
  return FAKE_MODELS.filter((m) => m.kind === kind);
}

/** OpenAI-style minimal entry of GET /v1/models (docs/upstream.md §3.5). */
export function minimalModelEntry(m: FakeModel): Record<string, unknown> {
  return { id: m.id, created: m.created, object: 'model', owned_by: 'xai' };
}

/** Full entry of /v1/{language,image-generation,video-generation,embedding}-models (docs/upstream.md §3.5). */
export function fullModelEntry(m: FakeModel): Record<string, unknown> {
  const base = { id: m.id, fingerprint: m.fingerprint, created: m.created, object: 'model', owned_by: 'xai', version: '1.0' };
  switch (m.kind) {
    case 'language':
      return {
        ...base,
        input_modalities: ['text'],
        output_modalities: ['text'],
        prompt_text_token_price: m.inputPrice,
        cached_prompt_text_token_price: m.cachedInputPrice,
        prompt_image_token_price: 0,
        completion_text_token_price: m.outputPrice,
        search_price: 250_000_000,
        aliases: m.aliases,
      };
    case 'image':
      return {
        ...base,
        max_prompt_length: 1024,
        prompt_text_token_price: m.inputPrice,
        prompt_image_token_price: m.inputPrice,
        generated_image_token_price: m.inputPrice,
        aliases: m.aliases,
      };
    case 'video':
      return { ...base, input_modalities: ['text', 'image'], output_modalities: ['video'], aliases: m.aliases };
    case 'embedding':
      return {
        ...base,
        input_modalities: ['text'],
        prompt_text_token_price: m.inputPrice,
        prompt_image_token_price: 0,
        aliases: m.aliases,
      };
  }
}
