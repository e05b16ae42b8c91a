// Regenerates docs/openapi.json, the OpenAPI 3.1 document a server serves at /openapi.json, from the
// handler and staff route tables (run: npx tsx scripts/openapi-doc.ts). A test fails when the two disagree.
import { writeFileSync } from 'node:fs';
import { buildOpenApiDocument } from '@parley/server';

writeFileSync(new URL('../docs/openapi.json', import.meta.url), JSON.stringify(buildOpenApiDocument(), null, 2) + '\n');
