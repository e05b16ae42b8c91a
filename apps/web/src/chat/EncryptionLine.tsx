/**
 * The system line at the top of every chat (C1, C15): messages and calls are end-to-end encrypted.
 * In a direct chat it is a button that opens the safety-number screen, where the two people can
 * check that nobody sits in between; a group has no single safety number, so there it is text.
 * A chat with a business whose keys the platform holds (C10, the hosted mode) says that instead,
 * before the first message: there the server runs the other end, so "not even the server" is untrue.
 */
import type { ReactNode } from 'react';
import { LockIcon } from '../media/icons.tsx';
import './encryption.css';

/** What the line says, in the chat and on the call screen's shorter form. */
export const E2E_TEXT =
  "Messages and calls are end-to-end encrypted. No one outside this chat, not even Parley's server, can read or listen to them.";

/** What the line says in a chat with a business whose device this server runs. */
export function hostedBusinessText(verifiedName: string): string {
  return `${verifiedName} is a business. This Parley server runs its device and holds its keys, so the server can read what you send here and what ${verifiedName} sends you.`;
}

/** The first item of a chat's message history. */
export function EncryptionLine({
  onVerify,
  business,
}: {
  onVerify?: () => void;
  /** The peer is a business (its verified name and who holds its keys). */
  business?: { verifiedName: string; keys: 'platform' | 'business' } | null;
}) {
  if (business?.keys === 'platform')
    return (
      <li className="e2e-line business-keys">
        <p role="note">
          <LockIcon />
          {hostedBusinessText(business.verifiedName)}
        </p>
      </li>
    );
  return (
    <li className="e2e-line">
      {onVerify ? (
        <button type="button" onClick={onVerify} title="Verify safety number">
          <LockIcon />
          {E2E_TEXT}
        </button>
      ) : (
        <p>
          <LockIcon />
          {E2E_TEXT}
        </p>
      )}
    </li>
  );
}

/**
 * The history's rows with the line placed first, after the first day separator when there is
 * one: the day heads the chat, then this line, then the messages.
 */
export function withEncryptionLine(rows: ReactNode[], line: ReactNode): ReactNode[] {
  return [...rows.slice(0, rows.length ? 1 : 0), line, ...rows.slice(rows.length ? 1 : 0)];
}
