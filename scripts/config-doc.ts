// Regenerates the configuration table in docs/operations.md from the declarations in
// packages/server/src/config/index.ts (run: npx tsx scripts/config-doc.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { withConfigDoc } from '@parley/server';

const file = new URL('../docs/operations.md', import.meta.url);
writeFileSync(file, withConfigDoc(readFileSync(file, 'utf8')));
