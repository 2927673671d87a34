import { BATCH_LUA } from './batch-script.js';
import { PROBE_LUA } from './probe-script.js';

/**
 * The limiter's scripts as Redis runs them, assembled from the template strings of this folder. A printed copy of
 * each is committed next to this file (`printed/*.lua`), so a reviewer reads the whole script a change produces;
 * test/unit/lua-printed.test.ts fails when a copy no longer matches. Regenerate with `npm run lua:print`.
 */
export const PRINTED_SCRIPTS: Readonly<Record<string, string>> = {
  'batch.lua': BATCH_LUA,
  'probe.lua': PROBE_LUA,
};
