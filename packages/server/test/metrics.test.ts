/**
 * Prometheus metrics (C19), on SQLite and PostgreSQL: off by default (no listener, `/metrics` 404
 * on the main port); with `metricsPort` a loopback listener serves text that parses as the
 * Prometheus exposition format, and its figures move when messages flow: messages in and out,
 * delivery lag, storage timings, queue depth, connections, bad frames, close codes and rate-limit
 * refusals (labelled by limit name, never by phone number). Two servers in one process keep
 * separate registries.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import type { ParleyClient } from '@parley/sdk';
import { availableDrivers, newClient, nextPhone, startServer, until, type TestServer } from '@parley/testkit';
import { limitName } from '../src/metrics/counters.ts';

const drivers = await availableDrivers();

/** One sample line: metric name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
const SAMPLE_LINE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL})(?:,${LABEL})*)?,?\\})? (\\S+)(?: -?\\d+)?$`);
const VALUE = /^(?:[+-]?(?:\d+\.?\d*(?:e[+-]?\d+)?|\.\d+(?:e[+-]?\d+)?)|NaN|[+-]Inf)$/i;

/**
 * Parse Prometheus text format 0.0.4 strictly enough to catch a malformed exposition: every line
 * is a comment, HELP, TYPE or a sample; each sample belongs to a family declared by TYPE before
 * it (histograms as `_bucket`/`_sum`/`_count`); values are floats; histogram buckets are
 * cumulative and end with `+Inf` equal to `_count`.
 */
function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const lines = text.split('\n');
  assert.equal(lines.at(-1), '', 'the exposition ends with a newline');
  for (const line of lines.slice(0, -1)) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) continue; // a plain comment
      assert.match(m[2]!, new RegExp(`^${NAME}$`), `metric name in ${line}`);
      if (m[1] === 'TYPE') {
        assert.match(m[3]!, /^(counter|gauge|histogram|summary|untyped)$/, line);
        assert.ok(!types.has(m[2]!), `TYPE given twice for ${m[2]}`);
        types.set(m[2]!, m[3]!);
      }
      continue;
    }
    const m = SAMPLE_LINE.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    assert.match(m[3]!, VALUE, `value in ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    const name = m[1]!;
    const family = types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
    assert.ok(types.has(family), `sample ${name} has no TYPE before it`);
    if (family !== name)
      assert.match(types.get(family)!, /^(histogram|summary)$/, `${name} suffix on a ${types.get(family)}`);
    samples.push({ name, labels, value: Number(m[3]!.replace(/Inf$/i, 'Infinity')) });
  }
  for (const [family, type] of types) {
    if (type !== 'histogram') continue;
    const series = new Map<string, Sample[]>();
    for (const s of samples.filter((x) => x.name === `${family}_bucket`)) {
      const { le, ...rest } = s.labels;
      assert.ok(le !== undefined, `${family}_bucket without le`);
      const k = JSON.stringify(rest);
      series.set(k, [...(series.get(k) ?? []), s]);
    }
    for (const [k, buckets] of series) {
      for (let i = 1; i < buckets.length; i++)
        assert.ok(buckets[i]!.value >= buckets[i - 1]!.value, `${family} buckets are cumulative`);
      assert.equal(buckets.at(-1)!.labels.le, '+Inf', `${family} ends with +Inf`);
      const count = samples.find((x) => x.name === `${family}_count` && JSON.stringify(x.labels) === k);
      assert.equal(buckets.at(-1)!.value, count?.value, `${family} +Inf bucket equals _count`);
    }
  }
  return { types, samples };
}

/** The value of one series (0 when absent, as Prometheus reads a counter not yet created). */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const s = samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s?.value ?? 0;
}

async function scrape(t: TestServer): Promise<{ text: string; types: Map<string, string>; samples: Sample[] }> {
  const res = await fetch(`${t.server.metricsUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  return { text, ...parseExposition(text) };
}

describe('metrics: rate-limit labels', () => {
  it('name the limit and never any part of the key after it', () => {
    const cases: [string, string][] = [
      ['reg:num:+12025550100', 'reg:num'],
      ['reg:ip:203.0.113.9', 'reg:ip'],
      ['verify:ip:::1', 'verify:ip'],
      ['disc:ip:2001:db8::1', 'disc:ip'],
      ['admin-auth-failed:abcd:ef::1', 'admin-auth-failed'],
      ['admin-auth-failed:face::1', 'admin-auth-failed'],
      ['acct:a_123:a_456', 'acct'],
      ['kt:proof:a_123', 'kt:proof'],
      ['disc:eval:a_123', 'disc:eval'],
      ['+12025550100', 'other'],
      ['beef:cafe', 'other'],
    ];
    for (const [key, name] of cases) assert.equal(limitName(key), name, key);
  });
});

for (const { driver, skip } of drivers) {
  describe(`metrics [${driver}]`, { skip }, () => {
    const servers: TestServer[] = [];
    const clients: ParleyClient[] = [];
    after(async () => {
      for (const c of clients) await c.close().catch(() => undefined);
      for (const s of servers) await s.close();
    });

    it('is off by default: no listener, and /metrics on the main port is a 404', async () => {
      const t = await startServer(driver);
      servers.push(t);
      assert.equal(t.server.metricsUrl, null);
      const res = await fetch(`${t.url}/metrics`);
      assert.equal(res.status, 404);
      await res.body?.cancel();
    });

    it('serves parseable metrics on a loopback listener that move as messages flow', async () => {
      const t = await startServer(driver, { metricsPort: 0, registrationPerNumberPerHour: 1 });
      const other = await startServer(driver, { metricsPort: 0 });
      servers.push(t, other);
      assert.match(t.server.metricsUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+$/, 'bound to loopback by default');
      assert.notEqual(t.server.metricsUrl, other.server.metricsUrl);
      const main = await fetch(`${t.url}/metrics`);
      assert.equal(main.status, 404, 'never on the main port');
      await main.body?.cancel();

      const before = await scrape(t);
      for (const [name, type] of [
        ['parley_messages_in_total', 'counter'],
        ['parley_messages_out_total', 'counter'],
        ['parley_delivery_lag_seconds', 'histogram'],
        ['parley_storage_seconds', 'histogram'],
        ['parley_pending_deliveries', 'gauge'],
        ['parley_send_queue_depth', 'gauge'],
        ['parley_websocket_connections', 'gauge'],
        ['parley_connected_devices', 'gauge'],
        ['parley_websocket_bad_frames_total', 'counter'],
        ['parley_websocket_errors_total', 'counter'],
        ['parley_websocket_closes_total', 'counter'],
        ['parley_rate_limit_refusals_total', 'counter'],
        ['nodejs_eventloop_lag_seconds', 'gauge'],
        ['nodejs_gc_duration_seconds', 'histogram'],
      ] as const)
        assert.equal(before.types.get(name), type, name);

      // Traffic: two devices chat; bob is online, so deliveries are pushed.
      const alice = await newClient(t.url);
      const bob = await newClient(t.url);
      clients.push(alice, bob);
      const conv = await alice.startDirect(bob.self.accountId);
      const texts = ['one', 'two', 'three', 'four', 'five'];
      const got: string[] = [];
      bob.on('message', (m) => got.push(m.text));
      for (const x of texts) await alice.sendText(conv, x);
      await until(() => got.length === texts.length, 10_000, 'bob got every message');

      // A bad frame, then a clean close, on a raw socket.
      const ws = new WebSocket(`${t.url.replace('http', 'ws')}/v1/ws`);
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      const answer = new Promise<string>((resolve) => ws.once('message', (d) => resolve(String(d))));
      ws.send('this is not json');
      assert.match(await answer, /bad_frame/);
      const closed = new Promise((resolve) => ws.once('close', resolve));
      ws.close(1000);
      await closed;

      // A refused code request: the limit is named, the number is not.
      const phone = nextPhone();
      for (const expect of [202, 429]) {
        const res = await fetch(`${t.url}/v1/registration/code`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ phone }),
        });
        assert.equal(res.status, expect);
        await res.body?.cancel();
      }

      const after = await until(
        async () => {
          const s = await scrape(t);
          return value(s.samples, 'parley_websocket_closes_total', { code: '1000' }) >= 1 ? s : null;
        },
        10_000,
        'the close was counted',
      );
      const grew = (name: string, labels: Record<string, string> = {}) =>
        value(after.samples, name, labels) - value(before.samples, name, labels);
      assert.ok(
        grew('parley_messages_in_total') >= texts.length,
        `messages in grew by ${grew('parley_messages_in_total')}`,
      );
      assert.ok(
        grew('parley_messages_out_total') >= texts.length,
        `messages out grew by ${grew('parley_messages_out_total')}`,
      );
      assert.equal(
        value(after.samples, 'parley_delivery_lag_seconds_count'),
        value(after.samples, 'parley_messages_out_total'),
        'one lag per push',
      );
      assert.ok(grew('parley_storage_seconds_count', { op: 'append' }) >= 1, 'batches were timed');
      assert.ok(grew('parley_storage_seconds_count', { op: 'pending' }) >= 1, 'queue reads were timed');
      assert.ok(value(after.samples, 'parley_connected_devices') >= 2);
      assert.ok(value(after.samples, 'parley_websocket_connections') >= 2);
      assert.ok(
        after.samples.some((s) => s.name === 'parley_pending_deliveries' && s.value >= 0),
        'queue depth is counted',
      );
      assert.equal(grew('parley_websocket_bad_frames_total'), 1);
      assert.equal(grew('parley_rate_limit_refusals_total', { limit: 'reg:num' }), 1);
      assert.ok(value(after.samples, 'nodejs_eventloop_lag_seconds') >= 0);
      for (const form of [phone, phone.slice(1), phone.slice(2), alice.phone.slice(2), bob.phone.slice(2)])
        assert.ok(!after.text.includes(form), 'no phone number in metrics');

      // The other server's registry saw none of it.
      const quiet = await scrape(other);
      assert.equal(value(quiet.samples, 'parley_messages_in_total'), 0);
      assert.equal(value(quiet.samples, 'parley_rate_limit_refusals_total', { limit: 'reg:num' }), 0);
    });

    it('serves only GET /metrics on the metrics listener', async () => {
      const t = servers.find((s) => s.server.metricsUrl);
      assert.ok(t);
      const res = await fetch(`${t.server.metricsUrl}/v1/accounts/me`);
      assert.equal(res.status, 404);
      await res.body?.cancel();
    });
  });
}
