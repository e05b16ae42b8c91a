/** @parley/protocol: the one wire contract shared by server, SDK, CLI and web client. */
export * from './common.ts';
export * from './errors.ts';
export * from './http.ts';
export * from './frames.ts';
export * from './frame-codec.ts';
export * from './content.ts';
export * from './message-actions.ts';
export * from './call-content.ts';
export * from './media.ts';
export * from './discovery.ts';
export * from './usernames.ts';
export * from './profiles.ts';
export * from './call-ops.ts';
export * from './ws-ops.ts';
export * from './transparency.ts';
export * from './admin.ts';
export * from './safety.ts';
