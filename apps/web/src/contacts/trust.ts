/**
 * Safety-number warnings and verifications (C2, C13), kept per account in localStorage so that a
 * reload still shows them: the SDK emits `identityChanged` when a contact's identity key differs
 * from the one this device saw first, and `key-transparency-warning` when the server's
 * transparency log does not bind the key it serves. A warning stays until the user has compared
 * the (new) safety number; "verified" is remembered with the number it was given for, so a
 * changed number is no longer verified.
 */
import { useSyncExternalStore } from 'react';
import type { ParleyClient } from '@parley/sdk';

/** Why this device distrusts a contact's key until the safety number is compared again. */
export interface TrustWarning {
  kind: 'identity-changed' | 'key-transparency';
  /** The SDK's code for key-transparency failures. */
  code?: string;
  at: number;
}

/** Where a warning about the whole log (no single account) is kept. */
const ANY = '*';

interface State {
  warnings: Record<string, TrustWarning>;
  verified: Record<string, string>;
}

/** One client's warnings and verifications. */
export class TrustStore {
  private state: State;
  private readonly listeners = new Set<() => void>();
  private readonly storageKey: string;

  constructor(client: ParleyClient) {
    this.storageKey = `parley.trust.${client.self.accountId}`;
    this.state = this.load();
    client.on('identityChanged', (e) => this.warn(e.accountId, { kind: 'identity-changed', at: Date.now() }));
    // Without an account the log as a whole failed a check: that concerns every contact.
    client.on('key-transparency-warning', (e) =>
      this.warn(e.accountId ?? ANY, { kind: 'key-transparency', code: e.code, at: Date.now() }),
    );
  }

  private load(): State {
    try {
      const s = JSON.parse(localStorage.getItem(this.storageKey) ?? 'null') as State | null;
      if (s && typeof s === 'object') return { warnings: s.warnings ?? {}, verified: s.verified ?? {} };
    } catch {
      /* start afresh */
    }
    return { warnings: {}, verified: {} };
  }

  private save(next: State): void {
    this.state = next;
    localStorage.setItem(this.storageKey, JSON.stringify(next));
    for (const fn of this.listeners) fn();
  }

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  snapshot = (): State => this.state;

  private warn(accountId: string, w: TrustWarning): void {
    const verified = { ...this.state.verified };
    delete verified[accountId];
    this.save({ warnings: { ...this.state.warnings, [accountId]: w }, verified });
  }

  /** The user compared this safety number and it matched: clears any warning. */
  markVerified(accountId: string, safetyNumber: string): void {
    const warnings = { ...this.state.warnings };
    delete warnings[accountId];
    delete warnings[ANY];
    this.save({ warnings, verified: { ...this.state.verified, [accountId]: safetyNumber } });
  }

  /** Forget that this contact was verified. */
  clearVerified(accountId: string): void {
    const verified = { ...this.state.verified };
    delete verified[accountId];
    this.save({ ...this.state, verified });
  }
}

const stores = new WeakMap<ParleyClient, TrustStore>();

/** The trust store of a registered client; create it early so no event is missed. */
export function trustStore(client: ParleyClient): TrustStore {
  let s = stores.get(client);
  if (!s) stores.set(client, (s = new TrustStore(client)));
  return s;
}

/** The warning and the verified number for one account, re-rendering on changes. */
export function useTrust(
  client: ParleyClient,
  accountId: string | undefined,
): { warning?: TrustWarning; verifiedNumber?: string } {
  const store = trustStore(client);
  const state = useSyncExternalStore(store.subscribe, store.snapshot);
  if (!accountId) return {};
  const warning = state.warnings[accountId] ?? state.warnings[ANY];
  const verifiedNumber = state.verified[accountId];
  return { ...(warning ? { warning } : {}), ...(verifiedNumber ? { verifiedNumber } : {}) };
}

/** A sentence for a warning, naming the contact. */
export function warningText(w: TrustWarning, name: string): string {
  if (w.kind === 'identity-changed')
    return `${name}'s safety number has changed. They may have reinstalled Parley or registered a new device, or someone may be trying to listen in. Verify the new safety number before you share anything sensitive.`;
  return `The server's key-transparency log does not vouch for ${name}'s key (${w.code ?? 'check failed'}). Someone could be in the middle of this chat. Verify the safety number in person.`;
}
