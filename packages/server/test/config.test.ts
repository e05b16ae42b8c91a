import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  configEnvNames,
  configRules,
  configVars,
  loadConfig,
  retiredConfigVars,
  retiredConfigWarnings,
} from '../src/config/index.ts';
import { configDoc, schemaDefault, shownDefault, CONFIG_DOC_BEGIN, CONFIG_DOC_END } from '../src/config/doc.ts';

const operations = () => readFileSync(new URL('../../../docs/operations.md', import.meta.url), 'utf8');

test('docs/operations.md holds the configuration table generated from the declarations', () => {
  const doc = operations();
  const begin = doc.indexOf(CONFIG_DOC_BEGIN);
  const end = doc.indexOf(CONFIG_DOC_END);
  assert.ok(begin >= 0 && end > begin, 'docs/operations.md lacks the config-table markers');
  assert.equal(doc.slice(begin, end + CONFIG_DOC_END.length), configDoc(), 'run: npx tsx scripts/config-doc.ts');
});

test('every setting has one PARLEY_ variable of its own, a meaning, and a shown default that agrees with the schema', () => {
  const names = Object.values(configVars).map((v) => v.env);
  assert.equal(new Set(names).size, names.length, 'a variable is declared twice');
  for (const [key, v] of Object.entries(configVars)) {
    assert.match(v.env, /^PARLEY_[A-Z0-9_]+$/, key);
    assert.ok(v.doc.trim().length > 0, `${v.env} has no meaning`);
    assert.equal(configEnvNames[key as keyof typeof configEnvNames], v.env);
    // A shown default of a setting that has one must begin with a value that parses to it.
    if (schemaDefault(v) !== undefined && v.shownDefault !== undefined) {
      const first = v.shownDefault.replaceAll('`', '').split(' ')[0];
      assert.deepEqual(
        v.schema.parse(first),
        v.schema.parse(undefined),
        `${v.env}: shown default "${v.shownDefault}" is not the schema's`,
      );
    }
    assert.ok(shownDefault(v).length > 0);
  }
});

test('the defaults an empty environment gives', () => {
  assert.deepEqual(loadConfig({}), {
    port: 8080,
    dataDir: './data',
    redisPrefix: 'parley:',
    smsSender: 'dev-outbox',
    logLevel: 'info',
    metricsHost: '127.0.0.1',
    shutdownTimeoutSeconds: 10,
    registrationPerNumberPerHour: 5,
    registrationPerIpPerHour: 200,
    verifyPerSessionPerHour: 10,
    verifyPerIpPerHour: 800,
    codeSweepSeconds: 60,
    discoveryFirstDay: 300,
    discoveryFirstWeek: 1000,
    discoveryPerDay: 10,
    discoveryPerIpPerDay: 20000,
    discoveryEvaluationsPerDay: 5000,
    profileFetchesPerTarget: 6,
    presenceFetchesPerTarget: 60,
    usernameLookupsPerDay: 100,
    usernameChangesPerDay: 10,
    discoveryAlarmFactor: 3,
    discoveryAlarmFloor: 10000,
    keyPackageClaimsPerTarget: 30,
    keyPackageClaimsPerClaimer: 300,
    maxLinkedDevices: 5,
    linkJoinsPerIp: 30,
    deviceListFetchesPerTarget: 30,
    ktProofsPerTarget: 6,
    ktReadsPerIp: 10000,
    wsPingSeconds: 30,
    wsMaxBufferedBytes: 16777216,
    blobStore: 'local',
    s3Region: 'us-east-1',
    s3Prefix: '',
    mediaMaxBytes: 104857600,
    mediaQuotaBytes: 2147483648,
    mediaTtlDays: 30,
    mediaMaxUploads: 16,
    mediaUploadTtlHours: 24,
    mediaSweepSeconds: 600,
    messageSweepSeconds: 5,
    turnUrls: [],
    turnTtlSeconds: 3600,
    stunUrls: [],
    sfu: true,
    sfuMaxParticipants: 16,
    callsPerDevice: 2,
    adminBulkAccounts: 20,
    adminBulkMinutes: 10,
    push: true,
    pushSubject: 'mailto:operator@parley.invalid',
    pushTimeoutMs: 10_000,
    pushConcurrency: 32,
    pushQueueMax: 10_000,
    pushTtlSeconds: 86_400,
    pushHttpHosts: [],
    businessWebhookRetryMs: 1000,
    businessThroughputPerSecond: 80,
    businessPairBurst: 45,
    businessDailyUsers: 250,
    imagegenModels: [],
    imagegenBlocklist: [],
    imagegenJobsPerUser: 2,
    imagegenTimeoutSeconds: 120,
    imagegenPatternPerDay: 500,
    imagegenRequireLabel: true,
  });
});

test('every variable is read from its declared name', () => {
  const c = loadConfig({
    PARLEY_PORT: '9000',
    PARLEY_SFU: 'off',
    PARLEY_SFU_PORT_RANGE: '40000-40010',
    PARLEY_TURN_URLS: 'turn:a, turns:b',
    PARLEY_TURN_SECRET: '0123456789abcdef',
    PARLEY_S3_FORCE_PATH_STYLE: 'false',
    PARLEY_ADMIN_BULK_MINUTES: '7',
  });
  assert.equal(c.port, 9000);
  assert.equal(c.sfu, false);
  assert.deepEqual(c.sfuPortRange, [40000, 40010]);
  assert.deepEqual(c.turnUrls, ['turn:a', 'turns:b']);
  assert.equal(c.s3ForcePathStyle, false);
  assert.equal(c.adminBulkMinutes, 7);
});

test('a bad start names every bad variable, and each check across variables stops it with its declared line', () => {
  assert.throws(
    () => loadConfig({ PARLEY_PORT: 'x', PARLEY_SFU: 'maybe', PARLEY_S3_BUCKET: 'A' }),
    (e: Error) =>
      ['PARLEY_PORT: ', 'PARLEY_SFU: ', 'PARLEY_S3_BUCKET: must be a valid bucket name'].every((s) =>
        e.message.includes(s),
      ),
  );
  const breaking: Record<string, string>[] = [
    { PARLEY_SECRET_KEY: 'a', PARLEY_SECRET_KEY_FILE: 'b' },
    { PARLEY_SECRET_KEY_PREVIOUS: 'a', PARLEY_SECRET_KEY_PREVIOUS_FILE: 'b' },
    { PARLEY_SMS_SENDER: 'http' },
    { PARLEY_BLOB_STORE: 's3' },
    { PARLEY_S3_ACCESS_KEY_ID: 'x' },
    { PARLEY_TURN_URLS: 'turn:a' },
    { PARLEY_TURN_SECRET: '0123456789abcdef' },
  ];
  assert.equal(breaking.length, configRules.length, 'one environment per rule');
  breaking.forEach((env, i) => {
    const rule = configRules[i]!;
    assert.throws(() => loadConfig(env), { message: `invalid configuration: ${rule.message}` });
    assert.match(operations(), new RegExp('- `' + rule.message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '`'));
  });
});

test('a retired variable that is still set gets a warning naming what replaced it, and is not read', () => {
  assert.deepEqual(retiredConfigWarnings({ PARLEY_PORT: '1' }), []);
  const [line, ...rest] = retiredConfigWarnings({ PARLEY_VERIFY_PER_NUMBER: '3' });
  assert.deepEqual(rest, []);
  assert.match(line!, /^PARLEY_VERIFY_PER_NUMBER is no longer read: .*PARLEY_VERIFY_PER_SESSION/);
  // No retired name is also a live one.
  const live = new Set(Object.values(configEnvNames));
  for (const name of Object.keys(retiredConfigVars)) assert.ok(!live.has(name), name);
  assert.deepEqual(loadConfig({ PARLEY_VERIFY_PER_NUMBER: '3' }), loadConfig({}));
});
