/**
 * `@parley/testkit`: the shared test harness (C19). Real servers and stores for the tests of every
 * package: a Parley server on SQLite or a fresh PostgreSQL database with SDK clients registered
 * through its dev outbox (`harness.ts`), storage opened on either driver (`storage.ts`), Redis key
 * prefixes (`redis.ts`), an S3-compatible emulator (`s3.ts`) and a coturn TURN server (`turn.ts`) and a local Web Push service (`push-service.ts`).
 * Node only; a device's token comes from `deviceToken` in `@parley/sdk/testing`.
 */
export * from './harness.ts';
export * from './storage.ts';
export * from './redis.ts';
export * from './s3.ts';
export * from './turn.ts';
export * from './push-service.ts';
