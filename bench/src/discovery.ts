/**
 * Contact-discovery scenarios (C12) for `npm run bench`, against a real `parley serve` pinned to
 * one core:
 * - `oprf_evaluate`: blind evaluations per second of server CPU (the server's hot path, libsodium
 *   ristretto255), driven in batches of 1,000 over HTTP, so the figure includes request handling;
 * - `discovery_1000`: a new account discovering a 1,000-contact address book through the SDK
 *   (blind, evaluate, finalise, look up), split into the time its discovery requests took (server
 *   and network, timed around each request of that very call) and the rest (the device's work).
 */
import WebSocket from 'ws';
import { blindNumber } from '@parley/crypto';
import { toB64 } from '@parley/protocol';
import type { ParleyClient, WebSocketCtor } from '@parley/sdk';
import { deviceToken, registerTestClient } from '@parley/sdk/testing';
import { round } from './measure.ts';

/** A registered account that does not connect (discovery is plain HTTP); `fetch` defaults to the global one. */
function register(base: string, phone: string, fetchImpl?: typeof fetch): Promise<ParleyClient> {
  return registerTestClient(base, {
    phone,
    deviceName: 'bench',
    keyPackageTarget: 1,
    connect: false,
    WebSocket: WebSocket as unknown as WebSocketCtor,
    ...(fetchImpl ? { fetch: fetchImpl } : {}),
  });
}

/**
 * A `fetch` that adds the time of every discovery request (until its whole body has arrived) to
 * `spent.ms`. The SDK sends its batches one after another, so the sum is the wall time the call
 * spent waiting on the server and the network.
 */
function timedDiscoveryFetch(spent: { ms: number }): typeof fetch {
  return async (input, init) => {
    const url = String(input instanceof Request ? input.url : input);
    if (!url.includes('/v1/discovery/')) return fetch(input, init);
    const t = performance.now();
    const r = await fetch(input, init);
    const body = await r.arrayBuffer();
    spent.ms += performance.now() - t;
    return new Response(body, { status: r.status, statusText: r.statusText, headers: r.headers });
  };
}

/** Run both scenarios; `cpuSeconds()` reads the server process's CPU time. */
export async function discoveryScenarios(
  base: string,
  label: string,
  cpuSeconds: () => number,
  out: (o: Record<string, unknown>) => void,
): Promise<void> {
  // Registered people hidden in the address books.
  const people: ParleyClient[] = [];
  for (let i = 0; i < 10; i++) people.push(await register(base, `+1303555${String(i * 97).padStart(4, '0')}`));

  // --- Server-side evaluation rate.
  const probe = await register(base, '+13035559990');
  const token = deviceToken(probe);
  const blinded = Array.from({ length: 1000 }, (_, i) =>
    toB64(blindNumber(`+1720555${String(i).padStart(4, '0')}`).blinded),
  );
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
  out({
    scenario: 'oprf_evaluate',
    target: label,
    evaluations: rounds * 1000,
    per_server_cpu_s: Math.round((rounds * 1000) / cpu),
    wall_per_s: Math.round((rounds * 1000) / wall),
    target_per_s: 5000,
  });

  // --- A 1,000-contact address book, new account each run (nothing cached, every number unseen).
  const times: { total: number; network: number }[] = [];
  for (let run = 0; run < 3; run++) {
    const book = Array.from({ length: 1000 }, (_, i) => `+1303555${String(i).padStart(4, '0')}`);
    const spent = { ms: 0 };
    const client = await register(base, `+1720556${String(run).padStart(4, '0')}`, timedDiscoveryFetch(spent));
    spent.ms = 0;
    const t = performance.now();
    const found = await client.discover(book);
    const total = performance.now() - t;
    const hits = [...found.values()].filter(Boolean).length;
    if (hits !== people.length) throw new Error(`discovery found ${hits} of ${people.length} registered contacts`);
    times.push({ total, network: spent.ms });
    await client.close();
  }
  // The run with the median total, split as it happened.
  const median = [...times].sort((a, b) => a.total - b.total)[1]!;
  out({
    scenario: 'discovery_1000',
    target: label,
    contacts: 1000,
    registered: people.length,
    runs: times.length,
    p50_ms: round(median.total),
    max_ms: round(Math.max(...times.map((x) => x.total))),
    device_crypto_ms: round(median.total - median.network),
    server_and_network_ms: round(median.network),
  });
  for (const c of [...people, probe]) await c.close();
}
