// Regenerates docs/errors.md from the error catalogue in packages/protocol (run: npx tsx scripts/errors-doc.ts).
import { writeFileSync } from 'node:fs';
import { ERRORS } from '@parley/protocol';

const rows = Object.entries(ERRORS).map(([code, e]) => `| \`${code}\` | ${e.status} | ${e.message} | ${e.fix} |`);
const doc = `# Errors

Every error Parley returns, over HTTP or WebSocket, has this shape:

\`\`\`json
{ "error": { "code": "rate_limited", "message": "Too many requests.", "retryAfterMs": 1500, "details": {}, "requestId": "k3j2h1" } }
\`\`\`

- HTTP answers use the status below; WebSocket answers carry it as \`status\` in \`{id, status, body}\`.
- \`429\` always carries \`retryAfterMs\` in the body and \`Retry-After\` (seconds) as an HTTP header.
  The SDK exposes \`err.isRateLimited()\` and \`err.retryAfterMs()\`.
- \`details\` names the offending fields for \`bad_request\` (a list of \`{path, problem}\`) and the index of
  the offending item for KeyPackage uploads.
- A rejected request changes nothing: validation happens before any write, and multi-row writes
  are single transactions.
- The catalogue lives in \`packages/protocol/src/errors.ts\`; this page is generated from it by
  \`npx tsx scripts/errors-doc.ts\` and a test fails when the two disagree.

| code | HTTP | meaning | how to fix |
|---|---|---|---|
${rows.join('\n')}

## WebSocket-specific behaviour
- A frame larger than 1 MiB closes the socket with close code 1009 (the \`ws\` library's limit), since
  the frame cannot be read to answer it.
- No \`hello\` within 10 seconds: close code 4000. A newer connection of the same device: close code 4001.
  A client that does not read its pushes (over 16 MiB buffered): close code 4008. The device was
  revoked (its number re-registered, or staff revoked it): close code 4003, and any frame it sent
  that had not run yet is refused with \`unauthenticated\`.
`;
writeFileSync(new URL('../docs/errors.md', import.meta.url), doc);
