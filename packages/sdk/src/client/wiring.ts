/**
 * How the client's services are built (C1–C4, C12, C13, C15, C17): each once, in dependency order,
 * each handed only the few others it uses (as small interfaces where one suffices). The facade
 * (`client.ts`) calls {@link wireServices} once and keeps what it returns; no service is built
 * anywhere else, so this file is the one place that shows who depends on whom.
 */
import { History } from '../history.ts';
import { CallManager } from '../calls/index.ts';
import { Search } from '../search.ts';
import { resolveTimeouts } from '../transport/deadline.ts';
import type { DeviceStore } from '../store/types.ts';
import { Session } from './session.ts';
import { Connection } from './connection.ts';
import { Trust } from './trust.ts';
import { Groups } from './groups.ts';
import { Outbox } from './outbox.ts';
import { Directory } from './directory.ts';
import { Conversations } from './conversations.ts';
import { Sending } from './sending.ts';
import { Receiving } from './receiving.ts';
import { CallLink } from './call-link.ts';
import { MessageActions } from './message-actions.ts';
import { GroupLog } from './group-log.ts';
import { Safety } from './safety.ts';
import { Disappearing } from './disappearing.ts';
import { DeviceLinks } from './device-links.ts';
import { LinkHistory } from './link-history.ts';
import { Push } from './push.ts';
import { Imagine } from './imagine.ts';
import { Backups } from './backups.ts';
import type { ClientEventSink, ClientOptions } from './types.ts';

/** The services whose public methods the facade forwards, by the name `FORWARDED` lists them under. */
export interface Services {
  session: Session;
  connection: Connection;
  directory: Directory;
  trust: Trust;
  chats: Conversations;
  sending: Sending;
  actions: MessageActions;
  finder: Search;
  safety: Safety;
  timers: Disappearing;
  links: DeviceLinks;
  push: Push;
  imaging: Imagine;
  backups: Backups;
}

/** Everything the facade keeps: the forwarded services and the parts it uses itself. */
export interface Wiring extends Services {
  /** Conversations and messages as this device stores them. */
  history: History;
  /** The call layer, already given its `CallLink` and group signalling. */
  calls: CallManager;
  /** Encrypts and sends one content: the facade's unchecked `sendRawContent` goes straight to it. */
  outbox: Outbox;
  /** The device store (logout empties it). */
  store: DeviceStore;
}

/** Build every service of one client; `events` is the client's own `emit`. */
export function wireServices(opts: ClientOptions, events: ClientEventSink): Wiring {
  const { store } = opts;
  const timeouts = resolveTimeouts(opts.timeouts);
  const http = { fetch: opts.fetch, requestMs: timeouts.requestMs };
  const history = new History(store);
  const finder = new Search(history);
  const session = new Session(store, http, opts.keyPackageTarget);
  const connection = new Connection(session, store, { WebSocket: opts.WebSocket, timeouts }, events);
  const trust = new Trust(
    session,
    store,
    { ...http, ktLogKey: opts.ktLogKey, ktMaxHeadAgeMs: opts.ktMaxHeadAgeMs },
    events,
  );
  const groups = new Groups(session, store, connection);
  const outbox = new Outbox(groups, connection);
  const directory = new Directory(session, store, outbox);
  const { profiles } = directory;
  const log = new GroupLog(history, () => session.device().accountId, events);
  const timers = new Disappearing(session, history, outbox, store, log, events, opts.now ?? Date.now);
  const chats = new Conversations(session, history, groups, trust, outbox, profiles, events, log, timers);
  const sending = new Sending(session, history, outbox, chats, profiles, events, timers);
  const actions = new MessageActions(session, history, outbox, sending, events, opts.messageActionWindows);
  const safety = new Safety(session, store, history, events);
  const links = new DeviceLinks(session, history, chats, events, new LinkHistory(session, store, history, events));
  const push = new Push(session, store, history);
  const imaging = new Imagine(session, store, sending);
  const backups = new Backups(session, store, history, groups, safety);
  const calls = new CallManager(new CallLink(session, history, outbox, sending, connection, events), opts.calls);
  calls.useGroupSignalling(connection);
  connection.attach(
    new Receiving(session, history, groups, chats, profiles, calls, actions, safety, events, timers),
    calls.groups,
  );
  return {
    session,
    connection,
    directory,
    trust,
    chats,
    sending,
    actions,
    finder,
    safety,
    timers,
    links,
    push,
    imaging,
    backups,
    history,
    calls,
    outbox,
    store,
  };
}
