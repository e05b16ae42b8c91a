/**
 * Group info (C15): the group's name, description and members (names, photos, roles), opened from
 * the group chat's header. Any member may change the name and the description (the SDK's rule, as
 * for renaming: every member's device accepts them from any member); admins add and remove members
 * and make or dismiss admins (the server refuses anyone else); anyone may leave. Each change also
 * becomes a system line in the chat on every member's device (`SystemLine.tsx`). The description is
 * end-to-end encrypted like the name: the server never sees it.
 */
import { useEffect, useState, type FormEvent } from 'react';
import type { LocalConversation, ParleyClient } from '@parley/sdk';
import { GROUP_DESCRIPTION_MAX } from '@parley/protocol';
import { Modal } from '../safety/SafetyNumber.tsx';
import { Avatar } from '../contacts/Avatar.tsx';
import { useProfiles } from '../contacts/profiles.ts';
import { resolveContact } from '../ChatList.tsx';
import { useTask } from '../hooks.ts';
import { StatusLine } from '../settings/StatusLine.tsx';
import './groups.css';

/** The group-info dialog of an active group. */
export function GroupInfoDialog({
  client,
  conv,
  names,
  onClose,
  onLeft,
}: {
  client: ParleyClient;
  conv: LocalConversation;
  names: Record<string, string>;
  onClose: () => void;
  /** Called once this account left the group. */
  onLeft: () => void;
}) {
  const me = client.self.accountId;
  const isAdmin = conv.admins.includes(me);
  const profiles = useProfiles(client, conv.members);
  const task = useTask();
  const [name, setName] = useState(conv.name ?? '');
  const [description, setDescription] = useState(conv.description ?? '');
  const [adding, setAdding] = useState(false);
  const [toAdd, setToAdd] = useState('');
  const [saved, setSaved] = useState('');
  // What another member changed while the dialog is open shows, unless this user is editing it.
  const [editing, setEditing] = useState<'none' | 'name' | 'description'>('none');
  useEffect(() => {
    if (editing !== 'name') setName(conv.name ?? '');
    if (editing !== 'description') setDescription(conv.description ?? '');
  }, [conv.name, conv.description, editing]);
  useEffect(() => {
    if (adding) document.getElementById('group-add-members')?.focus();
  }, [adding]);

  // Admins first, then by name; this account first of all.
  const members = [...conv.members].sort((a, b) => {
    const rank = (x: string) => (x === me ? 0 : conv.admins.includes(x) ? 1 : 2);
    return rank(a) - rank(b) || (names[a] ?? '').localeCompare(names[b] ?? '');
  });
  const nameOf = (a: string) => (a === me ? 'You' : (names[a] ?? 'Member'));

  const saveName = async (e: FormEvent) => {
    e.preventDefault();
    const next = name.trim();
    if (!next || next === conv.name) return;
    if ((await task.run(async () => client.rename(conv.id, next).then(() => true))) === true) {
      setEditing('none');
      setSaved('Group name saved');
    }
  };
  const saveDescription = async (e: FormEvent) => {
    e.preventDefault();
    const next = description.trim();
    if (next === (conv.description ?? '')) return;
    if ((await task.run(async () => client.describe(conv.id, next).then(() => true))) === true) {
      setEditing('none');
      setSaved('Description saved');
    }
  };
  const addMembers = async (e: FormEvent) => {
    e.preventDefault();
    const ok = await task.run(async () => {
      const ids: string[] = [];
      for (const n of toAdd
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean))
        ids.push(await resolveContact(client, n));
      await client.addMembers(conv.id, ids);
      return true;
    });
    if (ok) {
      setToAdd('');
      setAdding(false);
      setSaved('Members added');
    }
  };
  /** Run an admin action; say what it did once it succeeded. */
  const act = (done: string, action: () => Promise<void>) =>
    void task.run(async () => {
      await action();
      setSaved(done);
    });

  return (
    <Modal labelledBy="group-info-title" onClose={onClose} className="group-info">
      <div className="modal-head">
        <h2 id="group-info-title">Group info</h2>
        <button type="button" className="secondary" onClick={onClose}>
          Close
        </button>
      </div>
      <div className="contact-card">
        <Avatar name={conv.name ?? 'Group'} size={96} />
        <p className="contact-name">{conv.name ?? 'New group'}</p>
        <p className="hint">
          Group · {conv.members.length} {conv.members.length === 1 ? 'member' : 'members'}
        </p>
      </div>
      <form className="group-field" onSubmit={saveName}>
        <label htmlFor="group-info-name">Group name</label>
        <div className="group-field-row">
          <input
            id="group-info-name"
            value={name}
            maxLength={128}
            required
            onChange={(e) => {
              setEditing('name');
              setName(e.target.value);
            }}
          />
          <button type="submit" disabled={task.busy || !name.trim() || name.trim() === conv.name}>
            Save name
          </button>
        </div>
      </form>
      <form className="group-field" onSubmit={saveDescription}>
        <label htmlFor="group-info-description">Description</label>
        <textarea
          id="group-info-description"
          value={description}
          maxLength={GROUP_DESCRIPTION_MAX}
          rows={3}
          placeholder="Add a group description"
          aria-describedby="group-info-description-hint"
          onChange={(e) => {
            setEditing('description');
            setDescription(e.target.value);
          }}
        />
        <p id="group-info-description-hint" className="hint">
          Any member can change the name and description. Like messages, they are end-to-end encrypted.
        </p>
        <button type="submit" disabled={task.busy || description.trim() === (conv.description ?? '')}>
          Save description
        </button>
      </form>
      <StatusLine text={saved} error={task.error} />
      <h3 id="group-members-title">
        {conv.members.length} {conv.members.length === 1 ? 'member' : 'members'}
      </h3>
      {isAdmin &&
        (adding ? (
          <form className="group-field" onSubmit={addMembers}>
            <label htmlFor="group-add-members">Phone numbers or usernames, comma separated</label>
            <input
              id="group-add-members"
              value={toAdd}
              required
              autoCapitalize="none"
              spellCheck={false}
              onChange={(e) => setToAdd(e.target.value)}
            />
            <div className="group-field-row">
              <button type="submit" disabled={task.busy}>
                Add
              </button>
              <button type="button" className="secondary" onClick={() => setAdding(false)}>
                Cancel
              </button>
            </div>
          </form>
        ) : (
          <button type="button" className="secondary group-add" onClick={() => setAdding(true)}>
            Add members
          </button>
        ))}
      <ul className="group-members" aria-labelledby="group-members-title">
        {members.map((a) => {
          const admin = conv.admins.includes(a);
          const shown = nameOf(a);
          return (
            <li key={a} className="group-member">
              <Avatar
                name={names[a] ?? 'Member'}
                photoUrl={a === me ? undefined : (profiles[a]?.photoUrl ?? undefined)}
                size={36}
              />
              <span className="group-member-name">{shown}</span>
              {admin && <span className="group-role">Admin</span>}
              {isAdmin && a !== me && (
                <span className="group-member-actions">
                  <button
                    type="button"
                    className="secondary"
                    disabled={task.busy}
                    aria-label={admin ? `Dismiss as admin: ${shown}` : `Make admin: ${shown}`}
                    onClick={() =>
                      act(admin ? `${shown} is no longer an admin` : `${shown} is now an admin`, () =>
                        client.setRole(conv.id, a, admin ? 'member' : 'admin'),
                      )
                    }
                  >
                    {admin ? 'Dismiss as admin' : 'Make admin'}
                  </button>
                  <button
                    type="button"
                    className="danger-text"
                    disabled={task.busy}
                    aria-label={`Remove ${shown}`}
                    onClick={() => {
                      if (confirm(`Remove ${shown} from the group?`))
                        act(`${shown} was removed`, () => client.removeMember(conv.id, a));
                    }}
                  >
                    Remove
                  </button>
                </span>
              )}
            </li>
          );
        })}
      </ul>
      <button
        type="button"
        className="danger-button"
        disabled={task.busy}
        onClick={() => {
          if (confirm('Leave this group?')) void task.run(() => client.leave(conv.id).then(onLeft));
        }}
      >
        Leave group
      </button>
    </Modal>
  );
}
