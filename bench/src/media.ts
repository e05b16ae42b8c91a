/**
 * Encrypted-media throughput (C4) for `npm run bench`: a file encrypted on the device (AES-256-GCM),
 * uploaded in resumable chunks to a real `parley serve` (local blob folder) and finished with its
 * digest check; then downloaded, digest-checked and decrypted. Compared with a plain copy of a file
 * of the same size on the same disk, both as the kernel's copy and as a read-then-write in Node.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomFillSync } from 'node:crypto';
import WebSocket from 'ws';
import type { ParleyClient, WebSocketCtor } from '@parley/sdk';
import { registerTestClient } from '@parley/sdk/testing';
import { round } from './measure.ts';

const MB = 1024 * 1024;

/** Median of three timed runs of `fn`, in seconds. */
async function median3(fn: () => Promise<void> | void): Promise<number> {
  const t: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await fn();
    t.push((performance.now() - t0) / 1000);
  }
  return t.sort((a, b) => a - b)[1]!;
}

export async function mediaScenario(
  base: string,
  label: string,
  out: (o: Record<string, unknown>) => void,
  sizeMb = 64,
): Promise<void> {
  const client = await registerTestClient(base, {
    phone: '+13035558800',
    deviceName: 'bench',
    keyPackageTarget: 1,
    WebSocket: WebSocket as unknown as WebSocketCtor,
  });
  const conv = await client.createGroup('media bench', []);

  const bytes = randomFillSync(new Uint8Array(sizeMb * MB));
  let sent: Awaited<ReturnType<ParleyClient['sendMedia']>> | undefined;
  const up = await median3(async () => {
    sent = await client.sendMedia(conv, {
      bytes,
      mimeType: 'application/octet-stream',
      kind: 'file',
      fileName: 'bench.bin',
    });
  });
  let back: Uint8Array | undefined;
  const down = await median3(async () => {
    back = await client.downloadMedia(sent!.attachment!);
  });
  if (!back || back.length !== bytes.length || Buffer.compare(Buffer.from(back), Buffer.from(bytes)) !== 0)
    throw new Error('downloaded media differs from the original');

  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-copy-'));
  try {
    writeFileSync(join(dir, 'a'), bytes);
    const kernel = await median3(() => copyFileSync(join(dir, 'a'), join(dir, 'b')));
    const node = await median3(() => writeFileSync(join(dir, 'c'), readFileSync(join(dir, 'a'))));
    out({
      scenario: 'media_transfer',
      target: label,
      size_mb: sizeMb,
      upload_mb_per_s: round(sizeMb / up),
      download_mb_per_s: round(sizeMb / down),
      file_copy_mb_per_s: round(sizeMb / kernel),
      read_write_copy_mb_per_s: round(sizeMb / node),
      upload_vs_read_write: round(node / up, 2),
      download_vs_read_write: round(node / down, 2),
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await client.close();
  }
}
