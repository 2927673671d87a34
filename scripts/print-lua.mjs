// Writes the committed copies of the limiter's assembled Lua scripts (src/limits/lua/printed/), from the build.
// Run through `npm run lua:print`, which builds first.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PRINTED_SCRIPTS } from '../dist/src/limits/lua/printed-scripts.js';

const dir = join(import.meta.dirname, '..', 'src', 'limits', 'lua', 'printed');
for (const [name, text] of Object.entries(PRINTED_SCRIPTS)) {
  writeFileSync(join(dir, name), text.trimStart());
  process.stdout.write(`wrote src/limits/lua/printed/${name}\n`);
}
