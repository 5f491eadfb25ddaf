/**
 * The registry transport: the design's library (@kafkajs/confluent-schema-registry) with this project's
 * middlewares, against a real HTTP(S) server in the test process: a deadline for the whole call, error
 * answers that keep their body (`error_code`) and Retry-After, retries per instance.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import test, { type ExecutionContext } from 'ava';
import { RegistryHttp, retryAfterMs } from '../../src/contracts/registry-http.ts';
import { PipelineError, TransientError } from '../../src/errors.ts';
import { isCertificateError } from '../../src/tls-error.ts';

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

const JSON_TYPE = { 'content-type': 'application/vnd.schemaregistry.v1+json' };

/** A server that records when each request arrived; open responses are destroyed at teardown. */
async function server(t: ExecutionContext, handler: Handler) {
  const arrivals: number[] = [];
  const open = new Set<ServerResponse>();
  const http = createServer((request, response) => {
    arrivals.push(Date.now());
    open.add(response);
    response.on('close', () => open.delete(response));
    handler(request, response);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const response of open) response.destroy();
    http.close();
  });
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/apis/ccompat/v7`, arrivals };
}

function transport(t: ExecutionContext, url: string, options: { retries?: number; timeoutMs?: number }) {
  const http = new RegistryHttp({ url }, options);
  t.teardown(() => http.close());
  return http;
}

const subjects = (http: RegistryHttp) => http.call('GET /subjects', (api) => api.Subject.all());

test('the deadline fires on a server that never answers (was: an idle timeout, reset by every byte)', async (t) => {
  const { url } = await server(t, () => undefined);
  const error = await t.throwsAsync(subjects(transport(t, url, { retries: 0, timeoutMs: 300 })), {
    instanceOf: TransientError,
  });
  t.is(error.code, 'REGISTRY_UNAVAILABLE');
  t.regex(error.message, /no complete answer to GET \/subjects within 300 ms/);
});

test('the deadline fires on a server that trickles its answer a byte at a time (was: never, with an idle timeout)', async (t) => {
  const { url } = await server(t, (_request, response) => {
    response.writeHead(200, JSON_TYPE);
    response.write('[');
    // A byte every 50 ms: an idle timeout of 300 ms would never fire.
    const timer = setInterval(() => response.write(' '), 50);
    response.on('close', () => clearInterval(timer));
  });
  const started = Date.now();
  const error = await t.throwsAsync(subjects(transport(t, url, { retries: 0, timeoutMs: 300 })), {
    instanceOf: TransientError,
  });
  t.regex(error.message, /within 300 ms/);
  // Bounded by the deadline, not by the trickle (which never ends): generous for a busy machine.
  t.true(Date.now() - started < 10_000);
});

test('the deadline covers the retries: a registry that keeps failing is given up on at the deadline', async (t) => {
  const { url, arrivals } = await server(t, (_request, response) => {
    response.writeHead(503, JSON_TYPE);
    response.end(JSON.stringify({ error_code: 50301, message: 'busy' }));
  });
  const error = await t.throwsAsync(subjects(transport(t, url, { retries: 1000, timeoutMs: 700 })), {
    instanceOf: TransientError,
  });
  t.regex(error.message, /within 700 ms|did not answer/);
  t.true(arrivals.length < 1000, `${arrivals.length} attempts`);
});

test('error answers keep their body: 40401 (subject) and 40403 (schema) are told apart (was: message text only)', async (t) => {
  const { url } = await server(t, (request, response) => {
    const subject = request.url?.includes('/subjects/');
    response.writeHead(404, JSON_TYPE);
    response.end(
      JSON.stringify(
        subject
          ? { error_code: 40401, message: 'Subject not found.' }
          : { error_code: 40403, message: 'Schema not found' },
      ),
    );
  });
  const http = transport(t, url, { retries: 0, timeoutMs: 2000 });
  const subject = await http.call('GET /subjects/s/versions', (api) =>
    api.Subject.all({ path: '/subjects/{subject}/versions', subject: 's' }),
  );
  t.deepEqual(subject, {
    status: 404,
    errorCode: 40401,
    body: { error_code: 40401, message: 'Subject not found.' },
  });
  const schema = await http.call('GET /schemas/ids/7', (api) => api.Schema.find({ id: 7 }));
  t.is(schema.status, 404);
  t.is(schema.errorCode, 40403);
});

test('Retry-After on a 429 is honoured (was: ignored, the retry came after 200 ms)', async (t) => {
  const { url, arrivals } = await server(t, (_request, response) => {
    if (arrivals.length === 1) {
      response.writeHead(429, { ...JSON_TYPE, 'retry-after': '1' });
      response.end(JSON.stringify({ error_code: 42901, message: 'slow down' }));
      return;
    }
    response.writeHead(200, JSON_TYPE);
    response.end('["a"]');
  });
  const answer = await subjects(transport(t, url, { retries: 1, timeoutMs: 10_000 }));
  t.deepEqual(answer.body, ['a']);
  t.is(arrivals.length, 2);
  // The client waited at least what it was asked (a lower bound: no timing luck involved).
  t.true(arrivals[1]! - arrivals[0]! >= 950, `${arrivals[1]! - arrivals[0]!} ms`);
});

test('a Retry-After past the deadline fails at once, saying so, instead of waiting', async (t) => {
  const { url, arrivals } = await server(t, (_request, response) => {
    response.writeHead(503, { ...JSON_TYPE, 'retry-after': '120' });
    response.end(JSON.stringify({ error_code: 50301, message: 'maintenance' }));
  });
  const error = await t.throwsAsync(subjects(transport(t, url, { retries: 3, timeoutMs: 5000 })), {
    instanceOf: TransientError,
  });
  t.regex(
    error.message,
    /asked to retry GET \/subjects after 120 s, past the call's 5000 ms deadline: HTTP 503 \(error_code 50301\)/,
  );
  t.is(arrivals.length, 1);
});

test('Retry-After is read as seconds or as an HTTP date', (t) => {
  t.is(retryAfterMs('3'), 3000);
  t.is(retryAfterMs(new Date(10_000).toUTCString(), 4_000), 6_000);
  t.is(retryAfterMs('soon'), undefined);
  t.is(retryAfterMs(undefined), undefined);
});

test('two instances with different retries do not affect each other, nor does another SchemaRegistry (was: one shared default)', async (t) => {
  const { url, arrivals } = await server(t, (_request, response) => {
    response.writeHead(500, JSON_TYPE);
    response.end(JSON.stringify({ error_code: 50001, message: 'boom' }));
  });
  const none = transport(t, url, { retries: 0, timeoutMs: 10_000 });
  const two = transport(t, url, { retries: 2, timeoutMs: 10_000 });
  // Another user of the library in the same process, changing its (shared) retry default.
  new SchemaRegistry({ host: url, retry: { retries: 9 } });
  await t.throwsAsync(subjects(none), { instanceOf: TransientError });
  t.is(arrivals.length, 1);
  await t.throwsAsync(subjects(two), { instanceOf: TransientError });
  t.is(arrivals.length, 4);
  await t.throwsAsync(subjects(none), { instanceOf: TransientError });
  t.is(arrivals.length, 5);
});

test('a registry certificate the client does not trust is TLS_CERTIFICATE_REJECTED at once, not retried as a fault', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'registry-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      'key.pem',
      '-out',
      'cert.pem',
    ],
    { cwd: dir, stdio: 'ignore' },
  );
  const key = readFileSync(join(dir, 'key.pem'));
  const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  let arrivals = 0;
  const tls = createHttpsServer({ key, cert }, (_request, response) => {
    arrivals++;
    response.writeHead(200, JSON_TYPE);
    response.end('[]');
  });
  await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
  t.teardown(() => tls.close());
  const url = `https://127.0.0.1:${(tls.address() as AddressInfo).port}`;
  const untrusted = new RegistryHttp({ url }, { retries: 3, timeoutMs: 10_000 });
  t.teardown(() => untrusted.close());
  const error = await t.throwsAsync(subjects(untrusted), { instanceOf: PipelineError });
  t.is(error.code, 'TLS_CERTIFICATE_REJECTED');
  t.false(error instanceof TransientError);
  t.regex(error.message, /TLS certificate was refused \(DEPTH_ZERO_SELF_SIGNED_CERT\)/);
  t.is(arrivals, 0);
  // The CA given: the same server is trusted (the https.Agent carries it).
  const trusted = new RegistryHttp({ url, ca: cert }, { retries: 0, timeoutMs: 10_000 });
  t.teardown(() => trusted.close());
  t.deepEqual((await subjects(trusted)).body, []);
});

test('certificate errors are told from network faults by their code, also when wrapped', (t) => {
  const withCode = (code: string) => Object.assign(new Error(code), { code });
  t.true(isCertificateError(withCode('SELF_SIGNED_CERT_IN_CHAIN')));
  t.true(isCertificateError(withCode('ERR_TLS_CERT_ALTNAME_INVALID')));
  t.true(isCertificateError(withCode('CERT_HAS_EXPIRED')));
  t.true(
    isCertificateError(new Error('fetch failed', { cause: withCode('UNABLE_TO_VERIFY_LEAF_SIGNATURE') })),
  );
  t.false(isCertificateError(withCode('ECONNREFUSED')));
  t.false(isCertificateError(new Error('no code')));
});
