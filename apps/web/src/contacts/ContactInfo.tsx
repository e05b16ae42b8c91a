/**
 * A contact's profile as this account may see it (C12): photo, name, about, online / last seen,
 * and how this device knows them (number or username). Opened from a direct chat's header.
 */
import { useEffect, useState } from 'react';
import type { ParleyClient } from '@parley/sdk';
import { Modal } from '../safety/SafetyNumber.tsx';
import { Avatar } from './Avatar.tsx';
import { presenceText, type Presence, type ShownProfile } from './profiles.ts';
import { atName, knownUsername } from './handles.ts';

/** The contact-info dialog. */
export function ContactInfoDialog({
  client,
  peer,
  name,
  profile,
  presence,
  onVerify,
  onClose,
  children,
}: {
  client: ParleyClient;
  peer: string;
  name: string;
  profile: ShownProfile | null | undefined;
  presence: Presence;
  onVerify: () => void;
  onClose: () => void;
  /** More actions under "Verify safety number" (block and report, `blocking/`). */
  children?: React.ReactNode;
}) {
  const [phone, setPhone] = useState<string | undefined>();
  useEffect(() => {
    let alive = true;
    void client.phoneOf(peer).then((p) => alive && setPhone(p));
    return () => {
      alive = false;
    };
  }, [client, peer]);
  const username = knownUsername(client.self.accountId, peer);
  const seen = presenceText(presence);
  return (
    <Modal labelledBy="contact-title" onClose={onClose} className="contact-info">
      <div className="modal-head">
        <h2 id="contact-title">Contact info</h2>
        <button type="button" className="secondary" onClick={onClose}>
          Close
        </button>
      </div>
      <div className="contact-card">
        <Avatar name={name} photoUrl={profile?.photoUrl} alt={`Profile photo of ${name}`} size={160} />
        <p className="contact-name">{name}</p>
        {seen && <p className="hint">{seen}</p>}
      </div>
      <dl className="contact-fields">
        {profile?.about && (
          <>
            <dt>About</dt>
            <dd>{profile.about}</dd>
          </>
        )}
        {phone && (
          <>
            <dt>Phone number</dt>
            <dd>{phone}</dd>
          </>
        )}
        {username && (
          <>
            <dt>Found by username</dt>
            <dd>{atName(username)}</dd>
          </>
        )}
      </dl>
      {!profile?.name && (
        <p className="hint">
          {name} has not shared a profile name with you. A profile reaches you once they write in a chat with you, and
          only the parts they share.
        </p>
      )}
      <button type="button" onClick={onVerify}>
        Verify safety number
      </button>
      {children}
    </Modal>
  );
}
