/**
 * The OpenAPI 3.1 document (C19): served at /openapi.json, valid under the OpenAPI 3.1 schema,
 * listing every HTTP op of the handler table and every staff route with its method, path
 * parameters and security, and equal to the copy in docs/openapi.json.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { OPS, type OpSpec } from '../src/ops.ts';
import { ADMIN_ROUTES } from '../src/admin/routes.ts';
import { OP_RESPONSES, openApiPath } from '../src/http/openapi.ts';
import { startServer, type TestServer } from '@parley/testkit';

interface Operation {
  operationId: string;
  security: Record<string, string[]>[];
  parameters?: { name: string; in: string; required: boolean }[];
  requestBody?: { content: Record<string, unknown> };
  responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }>;
}
type Doc = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: Record<string, Record<string, unknown>>;
};

let t: TestServer;
let doc: Doc;
before(async () => {
  t = await startServer('sqlite');
  const res = await fetch(`${t.url}/openapi.json`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  doc = (await res.json()) as Doc;
});
after(() => t.close());

test('the served document is valid OpenAPI 3.1 and its references resolve', async () => {
  assert.equal(doc.openapi, '3.1.0');
  const validator = new Validator();
  const res = await validator.validate(structuredClone(doc) as unknown as Record<string, unknown>);
  assert.equal(res.valid, true, JSON.stringify(res.errors, null, 2));
  assert.equal(validator.version, '3.1');
  // Every $ref points into the document (resolveRefs throws on a dangling one).
  assert.doesNotThrow(() => validator.resolveRefs());
});

test('every HTTP op of the handler table is there with its method, path parameters and security', () => {
  const httpOps = (Object.entries(OPS) as [string, OpSpec][]).filter(([, s]) => s.http);
  assert.ok(httpOps.length > 30);
  for (const [name, spec] of httpOps) {
    const { path, params } = openApiPath(spec.http!.path);
    const operation = doc.paths[path]?.[spec.http!.method.toLowerCase()];
    assert.ok(operation, `${spec.http!.method} ${path} (${name}) is missing`);
    assert.equal(operation.operationId, name);
    const pathParams = (operation.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
    assert.deepEqual(pathParams, params, `${name}: path parameters`);
    for (const p of operation.parameters ?? []) if (p.in === 'path') assert.equal(p.required, true);
    assert.deepEqual(operation.security, spec.auth ? [{ deviceToken: [] }] : [], `${name}: security`);
    assert.ok(operation.responses[String(spec.http!.status ?? 200)], `${name}: success status`);
    assert.deepEqual(operation.responses.default, { $ref: '#/components/responses/Error' });
    if (spec.payload) assert.ok(operation.requestBody?.content['application/octet-stream'], `${name}: binary body`);
    else if (!['GET', 'DELETE'].includes(spec.http!.method))
      assert.ok(operation.requestBody?.content['application/json'], `${name}: JSON body`);
  }
  // WebSocket-only ops (sends, commits, call signalling) have no HTTP route to document.
  assert.equal(doc.paths['/v1/ws'], undefined);
});

test('every staff route is there with the admin token scheme', () => {
  for (const r of ADMIN_ROUTES) {
    const operation = doc.paths[r.path]?.[r.method.toLowerCase()];
    assert.ok(operation, `${r.method} ${r.path} is missing`);
    assert.equal(operation.operationId, `admin.${r.action}`);
    assert.deepEqual(operation.security, [{ adminToken: [] }]);
  }
  const schemes = doc.components.securitySchemes as Record<string, { type: string; scheme: string }>;
  assert.deepEqual(schemes.deviceToken && { type: schemes.deviceToken.type, scheme: schemes.deviceToken.scheme }, {
    type: 'http',
    scheme: 'bearer',
  });
  assert.deepEqual(schemes.adminToken && { type: schemes.adminToken.type, scheme: schemes.adminToken.scheme }, {
    type: 'http',
    scheme: 'bearer',
  });
});

test('request and answer schemas come from the zod schemas; the error body lists the catalogue', () => {
  const verify = doc.paths['/v1/registration/verify']!.post!;
  const body = verify.requestBody!.content['application/json'] as {
    schema: { properties: Record<string, unknown>; required: string[] };
  };
  assert.ok(body.schema.required.includes('phone') && body.schema.required.includes('code'));
  const ok = verify.responses['200']!.content!['application/json']!.schema as { properties: Record<string, unknown> };
  assert.deepEqual(Object.keys(ok.properties).sort(), ['accountId', 'deviceId', 'newAccount', 'token']);
  const commits = doc.paths['/v1/conversations/{conversationId}/commits']!.get!;
  assert.deepEqual(
    commits.parameters!.map((p) => `${p.in}:${p.name}:${p.required}`),
    ['path:conversationId:true', 'query:sinceEpoch:false'],
  );
  const code = (
    doc.components.schemas!.Error as { properties: { error: { properties: { code: { enum: string[] } } } } }
  ).properties.error.properties.code;
  assert.ok(code.enum.includes('rate_limited') && code.enum.includes('bad_request'));
  // An op without a response schema in @parley/protocol says so instead of inventing one.
  const leave = doc.paths['/v1/conversations/{conversationId}/leave']!.post!;
  assert.equal(OP_RESPONSES.leave, undefined);
  assert.deepEqual(leave.responses['200']!.content!['application/json']!.schema, { type: 'object' });
});

test('docs/openapi.json is the served document (regenerate: npx tsx scripts/openapi-doc.ts)', () => {
  const onDisk = JSON.parse(readFileSync(new URL('../../../docs/openapi.json', import.meta.url), 'utf8')) as unknown;
  assert.deepEqual(onDisk, doc);
});
