/**
 * OpenAPI 3.1 document of the HTTP API (C19), generated from the two route tables: the handler
 * table (`ops.ts`, every op with an `http` entry) and the staff routes (`admin/routes.ts`).
 * Request parameters and bodies come from each route's zod input schema through zod's own
 * `z.toJSONSchema`; answers from the protocol's response schemas where there is one. The document
 * is built from the tables rather than written by hand so it cannot drift from what the server
 * serves; `GET /openapi.json` answers it and `scripts/openapi-doc.ts` writes `docs/openapi.json`.
 */
import { z } from 'zod';
import {
  logoutResponse,
  PROTOCOL_VERSION,
  errorBodySchema,
  errorCodes,
  accountInfoSchema,
  ackResponse,
  adminAccountView,
  adminVerifyResult,
  claimKeyPackagesResponse,
  commitLogResponse,
  conversationListResponse,
  conversationSchema,
  discoverEvaluateResponse,
  discoverLookupResponse,
  finishUploadResponse,
  iceServersResponse,
  keyPackageCountResponse,
  ktConsistencyResponse,
  ktHeadResponse,
  ktHeadsResponse,
  ktProofResponse,
  mediaLimitsResponse,
  meResponse,
  presenceResponse,
  profileResponse,
  requestCodeResponse,
  settingsResponse,
  uploadKeyPackagesResponse,
  uploadStatusResponse,
  usernameLookupResponse,
  usernameStateResponse,
  verifyResponse,
  imageModelsResponse,
  imagineLineSchema,
} from '@parley/protocol';
import { OPS, type OpName, type OpSpec } from '../ops.ts';
import { ADMIN_ROUTES } from '../admin/routes.ts';

/** A JSON Schema object as `z.toJSONSchema` returns it. */
type JsonSchema = Record<string, unknown> & { properties?: Record<string, JsonSchema>; required?: string[] };

/**
 * The answer schema of each HTTP op. An op missing here has no response schema in
 * @parley/protocol yet; its document entry says so and gives a generic object.
 */
export const OP_RESPONSES: Partial<Record<OpName, z.ZodType>> = {
  requestCode: requestCodeResponse,
  imageModels: imageModelsResponse,
  verify: verifyResponse,
  me: meResponse,
  logout: logoutResponse,
  // The SDK reads these two as the same picks of protocol schemas (sdk/src/transport/http.ts).
  setPin: meResponse.pick({ registrationLock: true }),
  putProfile: profileResponse.pick({ version: true }),
  getAccount: accountInfoSchema,
  discoverEvaluate: discoverEvaluateResponse,
  discoverLookup: discoverLookupResponse,
  setUsername: usernameStateResponse,
  clearUsername: usernameStateResponse,
  usernameState: usernameStateResponse,
  lookupUsername: usernameLookupResponse,
  getProfile: profileResponse,
  getPresence: presenceResponse,
  getSettings: settingsResponse,
  setSettings: settingsResponse,
  uploadKeyPackages: uploadKeyPackagesResponse,
  countKeyPackages: keyPackageCountResponse,
  claimKeyPackages: claimKeyPackagesResponse,
  createConversation: conversationSchema,
  listConversations: conversationListResponse,
  getConversation: conversationSchema,
  listCommits: commitLogResponse,
  setRole: conversationSchema,
  ack: ackResponse,
  mediaLimits: mediaLimitsResponse,
  createUpload: uploadStatusResponse,
  getUpload: uploadStatusResponse,
  appendUpload: uploadStatusResponse,
  finishUpload: finishUploadResponse,
  iceServers: iceServersResponse,
  ktHead: ktHeadResponse,
  ktHeads: ktHeadsResponse,
  ktConsistency: ktConsistencyResponse,
  ktProof: ktProofResponse,
};

/** The answer schema of each staff route, by path; the same rule as OP_RESPONSES. */
export const ADMIN_RESPONSES: Record<string, z.ZodType> = {
  '/v1/admin/accounts/lookup': adminAccountView.extend({ auditSeq: z.number().int() }),
  '/v1/admin/audit/verify': adminVerifyResult,
};

/** Ops whose answer is raw bytes rather than JSON. */
const BINARY_ANSWERS: ReadonlySet<string> = new Set(['downloadBlob']);

/** Ops answering a stream of JSON lines (`application/x-ndjson`), each line one of a schema. */
const STREAMED_ANSWERS: Readonly<Record<string, () => Record<string, unknown>>> = {
  imagine: () => ({
    description:
      'The job, one JSON line at a time: `progress` lines while it runs, then one `result` (the images, base64url) or `error` line. Refusals before the job starts are ordinary error answers.',
    content: { 'application/x-ndjson': { schema: jsonSchema(imagineLineSchema) } },
  }),
};

/**
 * zod → JSON Schema (2020-12, the dialect OpenAPI 3.1 uses), without the `$schema` key. Answers
 * are documented on their input side too: that is what the SDK's parse of them accepts, and it
 * leaves objects open to fields added later, as the SDK is.
 */
function jsonSchema(schema: z.ZodType): JsonSchema {
  // Transforms and refinements have no JSON Schema form: they are left out (`any`), and the
  // server still applies them; the shape and the documented limits stay.
  const out = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
  delete out.$schema;
  return out;
}

/** `/v1/things/:id` → `/v1/things/{id}` and the names of its path parameters. */
export function openApiPath(path: string): { path: string; params: string[] } {
  const params: string[] = [];
  const converted = path.replace(/:([A-Za-z0-9_]+)/g, (_m, name: string) => {
    params.push(name);
    return `{${name}}`;
  });
  return { path: converted, params };
}

/** A parameter object for one property of an input schema. */
function parameter(name: string, where: 'path' | 'query' | 'header', input: JsonSchema): Record<string, unknown> {
  const schema = input.properties?.[name] ?? {};
  const required = where === 'path' || (input.required ?? []).includes(name);
  return { name, in: where, required, schema };
}

/** The properties of `input` other than `omit`, as a JSON object schema of their own. */
function without(input: JsonSchema, omit: ReadonlySet<string>): JsonSchema {
  const properties = Object.fromEntries(Object.entries(input.properties ?? {}).filter(([k]) => !omit.has(k)));
  const required = (input.required ?? []).filter((k) => !omit.has(k));
  const rest: JsonSchema = { ...input, properties };
  if (required.length) rest.required = required;
  else delete rest.required;
  return rest;
}

const ERROR_RESPONSES = {
  '429': { $ref: '#/components/responses/RateLimited' },
  default: { $ref: '#/components/responses/Error' },
} as const;

/** A JSON answer with the given schema, or a generic object where the protocol has none. */
function jsonAnswer(schema: z.ZodType | undefined): Record<string, unknown> {
  if (!schema) {
    return {
      description: 'Success. No response schema is declared in @parley/protocol for this route yet: a JSON object.',
      content: { 'application/json': { schema: { type: 'object' } } },
    };
  }
  return { description: 'Success.', content: { 'application/json': { schema: jsonSchema(schema) } } };
}

/** One handler-table op as an OpenAPI operation. */
function opOperation(name: string, spec: OpSpec): Record<string, unknown> {
  const http = spec.http!;
  const { params } = openApiPath(http.path);
  const input = jsonSchema(spec.input);
  const inPath = new Set(params);
  const fromHeaders = new Map(Object.entries(http.headers ?? {}).map(([header, field]) => [field, header]));
  const parameters: Record<string, unknown>[] = params.map((p) => parameter(p, 'path', input));
  for (const [field, header] of fromHeaders) parameters.push({ ...parameter(field, 'header', input), name: header });
  // Bodiless methods and binary routes take their other input fields from the query string.
  const queryInput = http.method === 'GET' || http.method === 'DELETE' || spec.payload;
  const taken = new Set([...inPath, ...fromHeaders.keys()]);
  if (queryInput)
    for (const key of Object.keys(input.properties ?? {}))
      if (!taken.has(key)) parameters.push(parameter(key, 'query', input));

  const operation: Record<string, unknown> = {
    operationId: name,
    tags: [tagOf(http.path)],
    security: spec.auth ? [{ deviceToken: [] }] : [],
  };
  if (parameters.length) operation.parameters = parameters;
  if (spec.payload) {
    operation.requestBody = {
      required: true,
      content: {
        'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } },
      },
    };
  } else if (!queryInput) {
    operation.requestBody = { required: true, content: { 'application/json': { schema: without(input, taken) } } };
  }
  const ok = String(http.status ?? 200);
  const stream = STREAMED_ANSWERS[name];
  const answer = stream
    ? stream()
    : BINARY_ANSWERS.has(name)
      ? {
          description: 'The stored ciphertext (206 with `Content-Range` when a `Range` was given).',
          content: {
            'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } },
          },
        }
      : jsonAnswer(OP_RESPONSES[name as OpName]);
  operation.responses = { [ok]: answer, ...(BINARY_ANSWERS.has(name) ? { '206': answer } : {}), ...ERROR_RESPONSES };
  return operation;
}

/** Group operations by their first path segment after `/v1/`. */
function tagOf(path: string): string {
  return path.split('/')[2] ?? 'server';
}

/** One staff route as an OpenAPI operation. */
function adminOperation(route: (typeof ADMIN_ROUTES)[number]): Record<string, unknown> {
  const input = jsonSchema(route.input);
  const operation: Record<string, unknown> = {
    operationId: `admin.${route.action}`,
    tags: ['admin'],
    security: [{ adminToken: [] }],
    description: `Staff action \`${route.action}\`: needs a role allowed to take it, and is written to the audit log before anything is read (docs/admin.md).`,
  };
  if (route.method === 'GET') {
    const query = Object.keys(input.properties ?? {}).map((k) => parameter(k, 'query', input));
    if (query.length) operation.parameters = query;
  } else {
    operation.requestBody = { required: true, content: { 'application/json': { schema: input } } };
  }
  operation.responses = { '200': jsonAnswer(ADMIN_RESPONSES[route.path]), ...ERROR_RESPONSES };
  return operation;
}

/** A route outside the two tables (health, this document), answered with a plain JSON object. */
function plainOperation(operationId: string, description: string): Record<string, unknown> {
  return {
    operationId,
    tags: ['server'],
    security: [],
    description,
    responses: { '200': { description: 'Success.', content: { 'application/json': { schema: { type: 'object' } } } } },
  };
}

/** Build the OpenAPI 3.1 document of every HTTP route the server serves from its tables. */
export function buildOpenApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const add = (path: string, method: string, operation: Record<string, unknown>) => {
    (paths[path] ??= {})[method.toLowerCase()] = operation;
  };
  for (const [name, spec] of Object.entries(OPS) as [string, OpSpec][]) {
    if (spec.http) add(openApiPath(spec.http.path).path, spec.http.method, opOperation(name, spec));
  }
  for (const route of ADMIN_ROUTES) add(route.path, route.method, adminOperation(route));
  add('/healthz', 'GET', plainOperation('healthz', 'Liveness: answers while the process runs.'));
  add('/readyz', 'GET', {
    ...plainOperation(
      'readyz',
      'Readiness: 200 when the server takes work; 503 while starting or draining for shutdown.',
    ),
    responses: {
      '200': { description: 'Ready.', content: { 'application/json': { schema: { type: 'object' } } } },
      '503': {
        description: 'Starting or shutting down.',
        content: { 'application/json': { schema: { type: 'object' } } },
      },
    },
  });
  add('/openapi.json', 'GET', plainOperation('openapi', 'This document.'));

  const error = jsonSchema(errorBodySchema);
  // The wire schema keeps `code` a string so old clients read new codes; the document lists today's.
  const code = (error.properties?.error as JsonSchema | undefined)?.properties?.code;
  if (code) code.enum = [...errorCodes];

  return {
    openapi: '3.1.0',
    info: {
      title: 'Parley HTTP API',
      version: `${PROTOCOL_VERSION}`,
      description:
        'The HTTP routes of a Parley server, generated from its handler table and staff route table. ' +
        'Sends, commits and call signalling are WebSocket-only (`/v1/ws`, docs/protocol.md); the same ops are listed there with their frames. ' +
        'Every error answers with the Error body; codes and fixes are in docs/errors.md.',
    },
    paths,
    components: {
      schemas: { Error: error },
      responses: {
        Error: {
          description: 'A catalogued error (docs/errors.md).',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
        RateLimited: {
          description: 'Rate limited: retry after the given time.',
          headers: {
            'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 1 } },
          },
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
      securitySchemes: {
        deviceToken: {
          type: 'http',
          scheme: 'bearer',
          description: 'A device token from `POST /v1/registration/verify`.',
        },
        adminToken: {
          type: 'http',
          scheme: 'bearer',
          description: 'A staff token made with `parley admin` (docs/admin.md).',
        },
      },
    },
  };
}
