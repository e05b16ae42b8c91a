// Lint: TypeScript syntax plus the import directions of docs/architecture.md. Runs-anywhere
// packages (protocol, crypto, sdk) may not import Node built-ins; nothing deep-imports another
// package's internals; the SDK and web app never import the server; storage never imports actions.
import tseslint from 'typescript-eslint';

const nodeBuiltins = { regex: '^(node:.*|fs|path|crypto|os|child_process|net|http|https|stream|buffer|worker_threads)(/.*)?$', message: 'This package must run in browsers too: no Node built-ins.' };
const deep = { group: ['@parley/*/src/*', '@parley/*/src'], message: "Import a package through its exports, never its internals." };
// A relative path out of one package into another (`../../server/test/...`, `../../apps/web/src/...`)
// skips its exports just as a deep import does: tests use `@parley/<name>`, `/testing` or `@parley/testkit`.
const crossPackage = { regex: '^(\\.\\./)+((packages|apps|tests|bench)/|(protocol|crypto|sdk|server|sfu|testkit|cli|web|e2e)/)', message: "Import another package through its exports ('@parley/<name>', '/testing', '@parley/testkit'), never by a relative path." };
const server = { group: ['@parley/server', '@parley/server/*'], message: 'Clients never import the server.' };

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'data/**', '.test-tmp/**'] },
  {
    // Worker entries that Node loads without tsx are `// @ts-check` JavaScript (`.mjs`), linted the same way.
    files: ['**/*.ts', '**/*.tsx', 'packages/*/src/**/*.mjs'],
    languageOptions: { parser: tseslint.parser },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      'no-restricted-imports': ['error', { patterns: [deep] }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-debugger': 'error',
    },
  },
  {
    files: ['packages/protocol/src/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [nodeBuiltins, deep, { group: ['@parley/*'], message: 'protocol imports zod only.' }] }] },
  },
  {
    files: ['packages/crypto/src/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [nodeBuiltins, deep, server, { group: ['@parley/sdk', '@parley/sdk/*'], message: 'crypto imports protocol only.' }] }] },
  },
  {
    files: ['packages/sdk/src/**/*.ts'],
    ignores: ['packages/sdk/src/node/**', 'packages/sdk/src/node.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [nodeBuiltins, deep, server] }] },
  },
  {
    files: ['apps/web/src/**/*.ts', 'apps/web/src/**/*.tsx'],
    rules: { 'no-restricted-imports': ['error', { patterns: [nodeBuiltins, deep, server, { group: ['@parley/crypto', '@parley/crypto/*'], message: 'The web app goes through the SDK.' }] }] },
  },
  {
    files: ['packages/sfu/src/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [deep, server, { group: ['@parley/sdk', '@parley/sdk/*', '@parley/crypto', '@parley/crypto/*'], message: 'The SFU imports protocol only: it never holds keys.' }] }] },
  },
  {
    // The server hosts the SFU (docs/decisions/0002): only the call service may import it.
    files: ['packages/server/src/**/*.ts', 'packages/server/src/**/*.mjs'],
    ignores: ['packages/server/src/services/calls.ts', 'packages/server/src/storage/**/*.ts', 'packages/server/src/storage/**/*.mjs'],
    rules: { 'no-restricted-imports': ['error', { patterns: [deep, { group: ['@parley/sfu', '@parley/sfu/*'], message: 'Only services/calls.ts talks to the SFU (docs/decisions/0002).' }, { group: ['@parley/sdk', '@parley/sdk/*'], message: 'The server never imports the client.' }] }] },
  },
  {
    files: ['packages/server/src/storage/**/*.ts', 'packages/server/src/storage/**/*.mjs'],
    rules: { 'no-restricted-imports': ['error', { patterns: [deep, { group: ['../actions/*', '../actions', '../services/*', '../http/*', '../ws/*'], message: 'Stores never call actions or transports.' }, { group: ['@parley/sfu', '@parley/sfu/*'], message: 'Only services/calls.ts talks to the SFU (docs/decisions/0002).' }] }] },
  },
  {
    files: ['packages/*/test/**/*.ts', 'apps/*/test/**/*.ts', 'apps/*/test/**/*.tsx', 'tests/**/*.ts', 'bench/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [deep, crossPackage] }] },
  },
);
