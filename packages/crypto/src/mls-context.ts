/**
 * Shared MLS plumbing for the ts-mls wrapper (C2): the one cipher suite, the authentication
 * service that enforces Parley's credential rules, and mapping library errors to catalogue codes.
 */
import {
  getCiphersuiteImpl,
  defaultCredentialTypes,
  type CiphersuiteImpl,
  type Credential,
  type MlsContext,
} from 'ts-mls';
import { ParleyError, deviceIdSchema } from '@parley/protocol';
import { fromUtf8, utf8 } from './bytes.ts';
import { validateEd25519PublicKey } from './keys.ts';

/** Name of cipher suite 1, the only one Parley uses. */
export const CIPHER_SUITE_NAME = 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519';

let suite: Promise<CiphersuiteImpl> | undefined;

/** The cipher-suite implementation, built once per process (it loads WebCrypto/noble lazily). */
export function cipherSuite(): Promise<CiphersuiteImpl> {
  suite ??= getCiphersuiteImpl(CIPHER_SUITE_NAME);
  return suite;
}

/**
 * Optional caller hook: confirm that `signatureKey` is the registered signing key of `deviceId`
 * (the SDK looks it up in its device directory / key-transparency view). Without it, any
 * well-formed device credential with a valid key is accepted, so the server could add a device.
 */
export type DeviceAuthenticator = (deviceId: string, signatureKey: Uint8Array) => boolean | Promise<boolean>;

/** Options shared by operations that accept other members' credentials. */
export interface MlsOptions {
  authenticate?: DeviceAuthenticator;
}

/** The device id named by a basic credential, or undefined for anything else. */
export function credentialDeviceId(credential: Credential): string | undefined {
  if (credential.credentialType !== defaultCredentialTypes.basic) return undefined;
  try {
    return fromUtf8((credential as { identity: Uint8Array }).identity);
  } catch {
    return undefined;
  }
}

/** The basic credential for a device. */
export function deviceCredential(deviceId: string): Credential {
  return { credentialType: defaultCredentialTypes.basic, identity: utf8(deviceId) };
}

/** Build the ts-mls context: our suite plus an authentication service applying Parley's rules. */
export async function mlsContext(opts: MlsOptions = {}): Promise<MlsContext> {
  return {
    cipherSuite: await cipherSuite(),
    authService: {
      async validateCredential(credential, signaturePublicKey) {
        const deviceId = credentialDeviceId(credential);
        if (deviceId === undefined || !deviceIdSchema.safeParse(deviceId).success) return false;
        try {
          validateEd25519PublicKey(signaturePublicKey);
        } catch {
          return false;
        }
        return opts.authenticate ? await opts.authenticate(deviceId, signaturePublicKey) : true;
      },
    },
  };
}

/**
 * Turn a ts-mls failure into a ParleyError. Library messages are not stable API, so everything
 * becomes `bad_request` with the original text in the message; ParleyErrors pass through.
 */
export function mlsFailure(e: unknown, what: string): ParleyError {
  if (e instanceof ParleyError) return e;
  const name = e instanceof Error ? e.name : 'Error';
  const message = e instanceof Error ? e.message : String(e);
  return new ParleyError('bad_request', { message: `MLS ${what} rejected: ${message}`, details: { mlsError: name } });
}
