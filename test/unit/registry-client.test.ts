/**
 * The registry client against a scripted HTTP server: Karapace's answers (404 with error codes where
 * Apicurio answers 200), failures and concurrency, without a real registry.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import type avro from 'avsc';
import { RegistryClient } from '../../src/contracts/registry-client.ts';
import { PipelineError, PoisonMessageError, TransientError } from '../../src/errors.ts';

type Handler = (request: IncomingMessage, body: string) => [status: number, body?: unknown] | 'hang';

const schema: avro.Schema = { type: 'record', name: 'R', fields: [{ name: 'a', type: 'string' }] };

async function fakeRegistry(t: ExecutionContext, handler: Handler) {
  const requests: string[] = [];
  const hanging: ServerResponse[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      requests.push(`${request.method} ${request.url}`);
      const answer = handler(request, body);
      if (answer === 'hang') {
        hanging.push(response);
        return;
      }
      const [status, payload] = answer;
      response.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
      response.end(payload === undefined ? '' : JSON.stringify(payload));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/apis/ccompat/v7`;
  t.teardown(() => {
    for (const response of hanging) response.destroy();
    server.close();
  });
  return { url, requests };
}

function client(t: ExecutionContext, url: string, extra: object = {}) {
  const registry = new RegistryClient({ url, ...extra }, { retries: 0, timeoutMs: 500 });
  t.teardown(() => registry.close());
  return registry;
}

test('concurrent schemaById misses share one request; the result is cached', async (t) => {
  const { url, requests } = await fakeRegistry(t, () => [200, { schema: JSON.stringify(schema) }]);
  const registry = client(t, url);
  const results = await Promise.all(Array.from({ length: 20 }, () => registry.schemaById(42)));
  t.deepEqual(results[0], schema);
  await registry.schemaById(42);
  t.deepEqual(requests, ['GET /apis/ccompat/v7/schemas/ids/42']);
});

test('a failed schemaById is not cached: the next call asks again', async (t) => {
  let calls = 0;
  const { url } = await fakeRegistry(t, () =>
    ++calls === 1 ? [503, { error_code: 50301 }] : [200, { schema: JSON.stringify(schema) }],
  );
  const registry = client(t, url);
  const error = await t.throwsAsync(registry.schemaById(1), { instanceOf: TransientError });
  t.is(error.code, 'REGISTRY_UNAVAILABLE');
  t.deepEqual(await registry.schemaById(1), schema);
});

test('an unknown schema id (40403) is a poison message', async (t) => {
  const { url } = await fakeRegistry(t, () => [404, { error_code: 40403, message: 'Schema 9 not found' }]);
  const error = await t.throwsAsync(client(t, url).schemaById(9), { instanceOf: PoisonMessageError });
  t.is(error.code, 'SCHEMA_ID_UNKNOWN');
});

test('refused credentials say so, with the user name and never the password', async (t) => {
  const { url } = await fakeRegistry(t, () => [401, { error_code: 40101, message: 'Unauthorized' }]);
  const registry = client(t, url, { auth: { username: 'avnadmin', password: 's3cr3t-pw' } });
  const error = await t.throwsAsync(registry.subjects(), { instanceOf: PipelineError });
  t.is(error.code, 'REGISTRY_REJECTED');
  t.regex(error.message, /authentication failed for the credentials of user "avnadmin" \(HTTP 401\)/);
  t.false(JSON.stringify({ m: error.message, d: error.details }).includes('s3cr3t-pw'));
});

test('basic auth is sent', async (t) => {
  let authorization: string | undefined;
  const { url } = await fakeRegistry(t, (request) => {
    authorization = request.headers.authorization;
    return [200, []];
  });
  await client(t, url, { auth: { username: 'u', password: 'p' } }).subjects();
  t.is(authorization, `Basic ${Buffer.from('u:p').toString('base64')}`);
});

test('an unreachable registry and a registry that does not answer are transient', async (t) => {
  const unreachable = client(t, 'http://127.0.0.1:9/apis/ccompat/v7');
  const refused = await t.throwsAsync(unreachable.subjects(), { instanceOf: TransientError });
  t.is(refused.code, 'REGISTRY_UNAVAILABLE');
  const { url } = await fakeRegistry(t, () => 'hang');
  const silent = await t.throwsAsync(client(t, url).subjects(), { instanceOf: TransientError });
  t.regex(silent.message, /no complete answer to GET \/subjects within 500 ms/);
});

test('5xx answers are retried before they count as unavailable', async (t) => {
  let calls = 0;
  const { url } = await fakeRegistry(t, () => (++calls < 3 ? [500, { error_code: 50001 }] : [200, ['a']]));
  const registry = new RegistryClient({ url }, { retries: 2 });
  t.teardown(() => registry.close());
  t.deepEqual(await registry.subjects(), ['a']);
  t.is(calls, 3);
});

test('a subject without its own level (Karapace 404 40408) falls back to the global level', async (t) => {
  const { url } = await fakeRegistry(t, (request) =>
    request.url!.endsWith('/config')
      ? [200, { compatibilityLevel: 'FULL' }]
      : [404, { error_code: 40408, message: 'Subject does not have subject-level compatibility configured' }],
  );
  t.deepEqual(await client(t, url).getCompatibility('s-value'), { level: 'FULL', source: 'global' });
});

test('a compatibility check against a subject without versions (Karapace 404) is compatible', async (t) => {
  const { url } = await fakeRegistry(t, (request) =>
    request.url!.endsWith('/config')
      ? [200, { compatibilityLevel: 'BACKWARD' }]
      : [404, { error_code: 40401 }],
  );
  t.deepEqual(await client(t, url).checkCompatibility('s-value', schema), {
    compatible: true,
    reasons: [],
    compared: false,
    level: 'BACKWARD',
  });
});

test('an invalid schema (42201) is SCHEMA_INVALID; the decision rests on error_code, not text', async (t) => {
  const { url } = await fakeRegistry(t, (request) => {
    if (request.url!.endsWith('/versions') && request.method === 'POST')
      return [422, { error_code: 42201, message: 'whatever text' }];
    return [404, { error_code: 40401 }];
  });
  const error = await t.throwsAsync(client(t, url).register('s-value', schema), {
    instanceOf: PipelineError,
  });
  t.is(error.code, 'SCHEMA_INVALID');
  t.is(error.details.subject, 's-value');
});

test('a schema already registered is found by comparing parsed schemas when the lookup compares text', async (t) => {
  const stored = JSON.stringify({ fields: [{ type: 'string', name: 'a' }], name: 'R', type: 'record' });
  const { url, requests } = await fakeRegistry(t, (request) => {
    if (request.method === 'POST') return [404, { error_code: 40403 }];
    if (request.url!.endsWith('/versions')) return [200, [1]];
    return [200, { subject: 's-value', version: 1, id: 17, schema: stored }];
  });
  t.deepEqual(await client(t, url).register('s-value', schema), { id: 17, version: 1, created: false });
  t.false(
    requests.some((r) => r === 'POST /apis/ccompat/v7/subjects/s-value/versions'),
    'nothing registered',
  );
});
