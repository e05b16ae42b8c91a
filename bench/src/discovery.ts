/**
 * Contact-discovery scenarios (C12) for `npm run bench`, against a real `parley serve` pinned to
 * one core:
 * - `oprf_evaluate`: blind evaluations per second of server CPU (the server's hot path, libsodium
 *   ristretto255), driven in batches of 1,000 over HTTP, so the figure includes request handling;
 * - `discovery_1000`: a new account discovering a 1,000-contact address book through the SDK
 *   (blind, evaluate, finalise, look up), split into the device's own crypto and the rest.
 */
import WebSocket from 'ws';
import { blindNumber, discoveryTag, finalizeNumber } from '@parley/crypto';
import { toB64, fromB64 } from '@parley/protocol';
import type { ParleyClient, WebSocketCtor } from '@parley/sdk';
import { registerTestClient } from '@parley/sdk/testing';
import { round } from './measure.ts';

/** A registered account that does not connect (discovery is plain HTTP). */
function register(base: string, phone: string): Promise<ParleyClient> {
  return registerTestClient(base, { phone, deviceName: 'bench', keyPackageTarget: 1, connect: false, WebSocket: WebSocket as unknown as WebSocketCtor });
}

/** Run both scenarios; `cpuSeconds()` reads the server process's CPU time. */
export async function discoveryScenarios(base: string, label: string, cpuSeconds: () => number, out: (o: Record<string, unknown>) => void): Promise<void> {
  // Registered people hidden in the address books.
  const people: ParleyClient[] = [];
  for (let i = 0; i < 10; i++) people.push(await register(base, `+1303555${String(i * 97).padStart(4, '0')}`));

  // --- Server-side evaluation rate.
  const probe = await register(base, '+13035559990');
  const token = (probe as unknown as { device: { token: string } }).device.token;
  const blinded = Array.from({ length: 1000 }, (_, i) => toB64(blindNumber(`+1720555${String(i).padStart(4, '0')}`).blinded));
  const body = JSON.stringify({ blinded });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const rounds = 20;
  const cpu0 = cpuSeconds();
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) {
    const r = await fetch(`${base}/v1/discovery/evaluate`, { method: 'POST', headers, body });
    if (r.status !== 200) throw new Error(`evaluate answered ${r.status}: ${await r.text()}`);
    await r.arrayBuffer();
  }
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds() - cpu0;
  out({ scenario: 'oprf_evaluate', target: label, evaluations: rounds * 1000, per_server_cpu_s: Math.round((rounds * 1000) / cpu), wall_per_s: Math.round((rounds * 1000) / wall), target_per_s: 5000 });

  // --- A 1,000-contact address book, new account each run (nothing cached, every number unseen).
  const times: { total: number; device: number }[] = [];
  for (let run = 0; run < 3; run++) {
    const book = Array.from({ length: 1000 }, (_, i) => `+1303555${String(i).padStart(4, '0')}`);
    const client = await register(base, `+1720556${String(run).padStart(4, '0')}`);
    const t = performance.now();
    const found = await client.discover(book);
    const total = performance.now() - t;
    const hits = [...found.values()].filter(Boolean).length;
    if (hits !== people.length) throw new Error(`discovery found ${hits} of ${people.length} registered contacts`);
    // The device's own share: blinding and finalising 1,000 numbers, timed alone.
    const d0 = performance.now();
    const bl = book.map((n) => blindNumber(n));
    const fakeEvaluated = bl.map((b) => b.blinded); // any valid element: finalising costs the same
    bl.forEach((b, i) => discoveryTag(finalizeNumber(book[i]!, b.blind, fromB64(toB64(fakeEvaluated[i]!)))));
    times.push({ total, device: performance.now() - d0 });
    await client.close();
  }
  const totals = times.map((x) => x.total).sort((a, b) => a - b);
  const device = times.map((x) => x.device).sort((a, b) => a - b)[1]!;
  out({
    scenario: 'discovery_1000', target: label, contacts: 1000, registered: people.length, runs: times.length,
    p50_ms: round(totals[1]!), max_ms: round(totals[2]!), device_crypto_ms: round(device), server_and_network_ms: round(totals[1]! - device),
  });
  for (const c of [...people, probe]) await c.close();
}
