/**
 * Server secrets at rest (C19, used by C12 discovery and usernames and C13 key transparency): each
 * named secret is made once per deployment and shared by every process through the
 * `server_secrets` table, stored there sealed under the key-encryption key
 * (services/secret-key.ts), never in clear.
 *
 * At start every row is brought under the current key: rows written in clear by versions before
 * this one are sealed, rows sealed under PARLEY_SECRET_KEY_PREVIOUS(_FILE) are re-sealed (key
 * rotation), and a row sealed under a key this process does not have stops the start with a
 * one-line error instead of letting the server make new secrets (losing the OPRF key or the log's
 * signing key would break every client). Each rewrite is a compare-and-set on the row's key id, so
 * several processes starting together do the work once and agree on the result.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import type { StoredSecret, Storage } from '../storage/types.ts';
import {
  keyFileTooOpen,
  loadCurrentKey,
  loadPreviousKey,
  openSecret,
  sealSecret,
  secretKeyPath,
  type SecretKey,
} from './secret-key.ts';

/** How often a row another process rewrote at the same moment is read again before giving up. */
const MAX_ROUNDS = 5;

/** The deployment's server secrets, decrypted in memory only. */
export class ServerSecrets {
  private key: SecretKey | null = null;
  private previous: SecretKey | null = null;
  private readonly values = new Map<string, Uint8Array>();

  constructor(
    private readonly storage: Storage,
    private readonly config: Config,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  /** Load the keys, then seal, re-seal or check every stored secret; throws one line when one cannot be opened. */
  async start(): Promise<void> {
    const rows = await this.storage.secrets.listSecrets();
    const sealedUnder = rows.find((r) => r.keyId !== null)?.keyId ?? null;
    const { key, created } = loadCurrentKey(this.config, sealedUnder);
    this.key = key;
    this.previous = loadPreviousKey(this.config);
    if (created)
      this.log.warn(
        { file: created },
        'made a new key-encryption key for server secrets: back it up apart from the database (docs/operations.md, "Server secrets")',
      );
    else if (!this.config.secretKey && keyFileTooOpen(secretKeyPath(this.config)))
      this.log.warn(
        { file: secretKeyPath(this.config) },
        'the server secrets key file is readable by other users: chmod 600 it',
      );
    if (this.previous?.id === key.id)
      throw new Error(
        `${this.previous.source} holds the same key as ${key.source}: set the previous key only while rotating to a new one`,
      );
    let sealed = 0;
    let resealed = 0;
    for (const row of rows) {
      const { value, from } = await this.adopt(row);
      this.values.set(row.name, value);
      if (from === 'clear') sealed++;
      if (from === 'previous') resealed++;
    }
    // Old values (in clear, or under the key being retired) must not stay behind in the files.
    if (sealed || resealed) await this.storage.secrets.purgeReplacedSecrets();
    if (sealed) this.log.info({ secrets: sealed, keyId: key.id }, 'server secrets stored in clear were encrypted');
    if (resealed)
      this.log.info(
        { secrets: resealed, from: this.previous?.id, to: key.id },
        'server secrets re-encrypted under the new key; the previous key is no longer needed',
      );
  }

  /** The named secret: read and opened, or made by `make()` and stored sealed (the first process's value wins). */
  async getOrCreate(name: string, make: () => Uint8Array): Promise<Uint8Array> {
    const known = this.values.get(name);
    if (known) return known;
    const key = this.currentKey();
    const row = await this.storage.secrets.getOrCreateSecret(
      name,
      () => ({ value: sealSecret(key, name, make()), keyId: key.id }),
      this.now(),
    );
    const { value } = await this.adopt(row);
    this.values.set(name, value);
    return value;
  }

  /** A secret this process has loaded, or undefined (for checks that the database holds no secret in clear). */
  loaded(name: string): Uint8Array | undefined {
    return this.values.get(name);
  }

  private currentKey(): SecretKey {
    if (!this.key) throw new Error('server secrets used before start()');
    return this.key;
  }

  /** Open a stored row, bringing it under the current key when it is in clear or under the previous key. */
  private async adopt(first: StoredSecret): Promise<{ value: Uint8Array; from: 'current' | 'clear' | 'previous' }> {
    const key = this.currentKey();
    let row: StoredSecret | null = first;
    for (let round = 0; round < MAX_ROUNDS && row; round++) {
      if (row.keyId === key.id) {
        const value = openSecret(key, row.name, row.value);
        if (!value)
          throw new Error(
            `server secret "${row.name}" does not decrypt under ${key.source} (key ${key.id}): the row was altered or belongs to another database`,
          );
        return { value, from: 'current' };
      }
      let value: Uint8Array;
      let from: 'clear' | 'previous';
      if (row.keyId === null) {
        value = row.value;
        from = 'clear';
      } else if (this.previous && row.keyId === this.previous.id) {
        const opened = openSecret(this.previous, row.name, row.value);
        if (!opened)
          throw new Error(
            `server secret "${row.name}" does not decrypt under ${this.previous.source} (key ${this.previous.id}): the row was altered or belongs to another database`,
          );
        value = opened;
        from = 'previous';
      } else {
        const known = [key, ...(this.previous ? [this.previous] : [])]
          .map((k) => `${k.source} holds key ${k.id}`)
          .join(', ');
        throw new Error(
          `server secret "${row.name}" is encrypted under key ${row.keyId}, but ${known}: start with the key it was encrypted under (docs/operations.md, "Server secrets")`,
        );
      }
      if (
        await this.storage.secrets.replaceSecret(row.name, row.keyId, {
          value: sealSecret(key, row.name, value),
          keyId: key.id,
        })
      )
        return { value, from };
      // Another process rewrote the row first: read what it wrote.
      row = (await this.storage.secrets.listSecrets()).find((r) => r.name === first.name) ?? null;
    }
    throw new Error(`server secret "${first.name}" kept changing while it was being encrypted; start again`);
  }
}
