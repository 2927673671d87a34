import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PRINTED_SCRIPTS } from '../../src/limits/lua/printed-scripts.js';

// The committed copies of the assembled limiter scripts must be what Redis runs: a change to a template shows
// up in review as a change to the whole script.
describe('printed Lua scripts', () => {
  it.each(Object.entries(PRINTED_SCRIPTS))('src/limits/lua/printed/%s matches the assembled script (else: npm run lua:print)', (name, text) => {
    const printed = readFileSync(join(import.meta.dirname, '..', '..', 'src', 'limits', 'lua', 'printed', name), 'utf8');
    expect(printed).toBe(text.trimStart());
  });
});
