import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { exitCodeOf } from '../../src/cli/exit-codes.ts';
import { RegistryHttp } from '../../src/contracts/registry-http.ts';
import { PipelineError, TransientError } from '../../src/errors.ts';
import { type IssuedCertificate, throwawayPki } from '../support/throwaway-ca.ts';

const pki = throwawayPki();
test.after.always(() => pki.remove());

/** An HTTPS registry presenting `certificate`; counts the TCP connections it receives. */
async function registry(t: import('ava').ExecutionContext, certificate: IssuedCertificate) {
  const server = createServer({ cert: certificate.cert, key: certificate.key }, (_request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end('["a-value"]');
  });
  let connections = 0;
  server.on('connection', () => {
    connections++;
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => connections,
  };
}

const cases = [
  {
    name: 'a wrong CA',
    certificate: () => pki.valid,
    ca: () => pki.otherCaFile,
    code: /UNABLE_TO_VERIFY_LEAF/,
  },
  {
    name: 'an expired certificate',
    certificate: () => pki.expired,
    ca: () => pki.caFile,
    code: /CERT_HAS_EXPIRED/,
  },
  {
    name: 'a host name mismatch',
    certificate: () => pki.otherHost,
    ca: () => pki.caFile,
    code: /ERR_TLS_CERT_ALTNAME_INVALID/,
  },
];

for (const c of cases) {
  test(`registry: ${c.name} is TLS_CERTIFICATE_REJECTED at the first attempt (was: REGISTRY_UNAVAILABLE retried 3 times)`, async (t) => {
    const server = await registry(t, c.certificate());
    const http = new RegistryHttp({ url: server.url, ca: readFileSync(c.ca(), 'utf8') }, { retries: 2 });
    t.teardown(() => http.close());
    const error = await t.throwsAsync(
      http.call('GET /subjects', (api) => api.Subject.all()),
      { instanceOf: PipelineError },
    );
    t.false(error instanceof TransientError);
    t.is(error.code, 'TLS_CERTIFICATE_REJECTED');
    t.regex(error.message, new RegExp(`schema registry ${server.url.replaceAll('.', '\\.')}`));
    t.regex(error.message, c.code);
    t.is(server.connections(), 1, 'not retried');
    t.is(exitCodeOf(error), 8);
  });
}

test('registry: the same server is reached when its CA is the configured one', async (t) => {
  const server = await registry(t, pki.valid);
  const http = new RegistryHttp({ url: server.url, ca: readFileSync(pki.caFile, 'utf8') });
  t.teardown(() => http.close());
  t.deepEqual((await http.call('GET /subjects', (api) => api.Subject.all())).body, ['a-value']);
});
