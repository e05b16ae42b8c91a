/**
 * `parley audit-log --server URL` (C13): the key-transparency auditor. It needs no account: it
 * fetches every signed tree head the server ever published, checks each signature under the log
 * key and the consistency proof between each consecutive pair and between the first and the
 * last, printing one JSON line per head and a summary. Any failure ends the run with a one-line
 * error naming the bad head (exit status 1). See docs/key-transparency.md.
 */
import { KtApi, auditLog } from '@parley/sdk';

/** Audit the log at `serverUrl`, writing each checked head and the summary with `out`; each request gives up after `timeoutMs`. */
export async function auditServerLog(serverUrl: string, out: (obj: unknown) => void, timeoutMs?: number): Promise<void> {
  const api = new KtApi(serverUrl, undefined, undefined, timeoutMs);
  const result = await auditLog(api, (h) => out({ treeSize: h.treeSize, rootHash: h.rootHash, timestamp: new Date(h.timestamp).toISOString(), signature: 'ok', consistentWith: h.extends }));
  out({ status: 'ok', heads: result.heads, treeSize: result.treeSize });
}
