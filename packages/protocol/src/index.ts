/** @parley/protocol: the one wire contract shared by server, SDK, CLI and web client. */
export * from './common.ts';
export * from './errors.ts';
export * from './http.ts';
export * from './frames.ts';
export * from './content.ts';
export * from './media.ts';
