/** @parley/server public entry: build and run a Parley server (C19). */
export { buildServer, type ParleyServer, type BuildOptions } from './server.ts';
export {
  loadConfig,
  configSchema,
  configEnvNames,
  configVars,
  configRules,
  type Config,
  type ConfigVar,
  type ConfigRule,
} from './config/index.ts';
export { runServer, startBanner } from './main.ts';
export { withStorage, adminCommands } from './admin/index.ts';
export { withBusinessAccounts, validBusinessPhone, BusinessCommandError } from './business/index.ts';
export { withTemplateReview, TemplateReviewError } from './business/index.ts';
/** The server's own tables as documents: the operations.md configuration table and the OpenAPI document. */
export { withConfigDoc } from './config/doc.ts';
export { buildOpenApiDocument } from './http/openapi.ts';
