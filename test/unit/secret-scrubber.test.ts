import { describe, expect, it } from 'vitest';
import { createSecretScrubber } from '../../src/logging.js';

describe('createSecretScrubber', () => {
  it('redacts each configured secret, its JSON-escaped form, and anything shaped like a client or xAI key', () => {
    const scrub = createSecretScrubber(['upstream-secret-1', 'admin"token"0123456789']);
    const line = JSON.stringify({ a: 'upstream-secret-1', b: 'admin"token"0123456789', c: 'xgw_abcdefgh12345678', d: 'xai-ABCDEFGH' });
    const scrubbed = scrub(line);
    expect(scrubbed).not.toContain('upstream-secret-1');
    expect(scrubbed).not.toContain('token');
    expect(scrubbed).not.toContain('xgw_abcdefgh');
    expect(scrubbed).not.toContain('xai-ABCDEFGH');
  });

  it('leaves lines alone for a "secret" too short to be one, instead of redacting every such letter', () => {
    const scrub = createSecretScrubber(['a', '']);
    expect(scrub('{"msg":"a request came in"}')).toBe('{"msg":"a request came in"}');
  });
});
