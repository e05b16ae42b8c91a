/**
 * `parley audit-log --server URL` (C13): the key-transparency auditor. It needs no account: it
 * checks the log key (`--log-key`, and the key pinned by an earlier run), fetches every signed tree
 * head the server ever published, checks each signature under the log key and the consistency
 * proof between each consecutive pair and between the first and the last, then the head the server
 * serves now (no older than `--max-age`, extending the history and the head an earlier run
 * pinned). It prints one JSON line per head and a summary; any failure ends the run with a
 * one-line error (exit status 1). With `--profile DIR` or `--state FILE` it pins the log key and
 * the newest head for the next run. See docs/key-transparency.md.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { KT_MAX_HEAD_AGE_MS, fromB64, type KtHead } from '@parley/protocol';
import { KtApi, auditLog } from '@parley/sdk';
import { FileStore } from '@parley/sdk/node';
import { UsageError, opt, type ParsedArgs } from './args.ts';

/** What one run leaves for the next: the log key and the newest head it checked. */
export interface AuditPin {
  logKey: string;
  head: KtHead;
}

/** Where the auditor keeps its pin for one server between runs. */
export interface PinStore {
  get(): Promise<AuditPin | undefined>;
  set(pin: AuditPin): Promise<void>;
}

/** Pins kept in a profile folder, one per server origin (a profile may audit several servers). */
function profilePins(dir: string, origin: string): PinStore {
  const store = new FileStore(dir);
  const key = `kt-audit-log:${origin}`;
  return { get: () => store.get<AuditPin>(key), set: (pin) => store.set(key, pin) };
}

/** Pins kept in one JSON file `{origin: {logKey, head}}`, written whole and renamed into place. */
function filePins(file: string, origin: string): PinStore {
  const read = async (): Promise<Record<string, AuditPin>> => {
    try {
      return JSON.parse(await readFile(file, 'utf8')) as Record<string, AuditPin>;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new UsageError(`--state ${file} is not a state file this command wrote: ${(e as Error).message}`);
    }
  };
  return {
    get: async () => (await read())[origin],
    async set(pin) {
      const all = await read();
      all[origin] = pin;
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify(all, null, 2) + '\n', { mode: 0o600 });
      await rename(tmp, file);
    },
  };
}

/** The auditor's options as given on the command line. */
export interface AuditLogOptions {
  /** The log key the operator published (`--log-key`): the log must be signed by it. */
  logKey?: string;
  /** Refuse a served head older than this (`--max-age` seconds; default 24 h). */
  maxHeadAgeMs?: number;
  /** Where the pin from the last run is read and this run's is written. */
  pins?: PinStore;
  /** Deadline of each request to the server (the command's `--timeout`). */
  timeoutMs?: number;
}

/** Read `--log-key`, `--max-age`, `--profile` and `--state` for the log at `serverUrl`. */
export function auditLogOptions(args: ParsedArgs, serverUrl: string): AuditLogOptions {
  let origin: string;
  try {
    origin = new URL(serverUrl).origin;
  } catch {
    throw new UsageError(`--server ${serverUrl} is not a URL`);
  }
  const o: AuditLogOptions = {};
  const logKey = logKeyArg(args);
  if (logKey !== undefined) o.logKey = logKey;
  const maxAge = args.flags.get('max-age');
  if (maxAge !== undefined) {
    if (typeof maxAge !== 'string' || !/^[1-9]\d{0,9}$/.test(maxAge))
      throw new UsageError('--max-age takes a whole number of seconds');
    o.maxHeadAgeMs = Number(maxAge) * 1000;
  }
  const profile = opt(args, 'profile');
  const state = opt(args, 'state');
  if (profile !== undefined && state !== undefined) throw new UsageError('give --profile or --state, not both');
  if (args.flags.get('state') === true) throw new UsageError('--state takes a file path');
  if (profile !== undefined) o.pins = profilePins(profile, origin);
  if (state !== undefined) o.pins = filePins(state, origin);
  return o;
}

/** `--log-key KEY` when given, checked to be a 32-byte key in unpadded base64url. */
export function logKeyArg(args: ParsedArgs): string | undefined {
  const logKey = opt(args, 'log-key');
  if (args.flags.get('log-key') === true || (logKey !== undefined && !isKey(logKey))) {
    throw new UsageError(
      '--log-key takes the log key as GET /v1/kt/head serves it: 43 characters of unpadded base64url',
    );
  }
  return logKey;
}

function isKey(s: string): boolean {
  if (!/^[A-Za-z0-9_-]{43}$/.test(s)) return false;
  try {
    return fromB64(s).length === 32;
  } catch {
    return false;
  }
}

/** Audit the log at `serverUrl`, writing each checked head and the summary with `out`; each request gives up after `opts.timeoutMs`. */
export async function auditServerLog(
  serverUrl: string,
  out: (obj: unknown) => void,
  opts: AuditLogOptions = {},
): Promise<void> {
  const api = new KtApi(serverUrl, undefined, undefined, opts.timeoutMs);
  const pinned = await opts.pins?.get();
  const result = await auditLog(
    api,
    (h) =>
      out({
        treeSize: h.treeSize,
        rootHash: h.rootHash,
        timestamp: new Date(h.timestamp).toISOString(),
        signature: 'ok',
        consistentWith: h.extends,
      }),
    {
      ...(opts.logKey !== undefined ? { logKey: opts.logKey } : {}),
      maxHeadAgeMs: opts.maxHeadAgeMs ?? KT_MAX_HEAD_AGE_MS,
      ...(pinned ? { pinned } : {}),
    },
  );
  // Only a run that passed every check moves the pin forward.
  await opts.pins?.set({ logKey: result.logKey, head: result.head });
  out({
    status: 'ok',
    heads: result.heads,
    treeSize: result.treeSize,
    logKey: result.logKey,
    ...(opts.pins ? { pinned: true } : {}),
  });
}
