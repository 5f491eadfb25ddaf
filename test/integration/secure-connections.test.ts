/**
 * Secure connections over real handshakes, not only configured: a private stack started with
 * STACK_SECURE=true (a throwaway openssl CA; the broker with a mutual-TLS listener and a SASL_SSL
 * SCRAM-SHA-512 listener; PostgreSQL with ssl=on) and the shared registry behind an HTTPS proxy that checks
 * basic auth. The whole pipeline runs through each secure path, then each refusal is shown to fail at once
 * (well under kafkajs' ~40 s of retries), named, with its exit code, and without a secret in the output.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import pg from 'pg';
import { parseStackSettings } from '../../src/config.ts';
import { parseEnvFile } from '../../src/env-file.ts';
import { postgresDataDirectory } from '../../src/stack/postgres-service.ts';
import { stackDown, stackSecureEnvFile, stackUp } from '../../src/stack/stack.ts';
import { spawnPipeline, waitUntil } from '../support/cli-process.ts';
import { config as shared, uniqueName } from '../support/services.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';
import { issueClientCertificate, throwawayPki } from '../support/throwaway-ca.ts';
import { uniqueCatalog } from '../support/unique-catalog.ts';

const stackDir = mkdtempSync(join(tmpdir(), 'secure-stack-'));
const passthrough = ['STACK_CACHE_DIR', 'JAVA_HOME', 'STACK_KAFKA_JAVA_HOME', 'STACK_READY_TIMEOUT_SECONDS'];
const settings = parseStackSettings({
  ...Object.fromEntries(
    passthrough.flatMap((name) => (process.env[name] ? [[name, process.env[name]]] : [])),
  ),
  STACK_DIR: stackDir,
  STACK_SECURE: 'true',
  STACK_KAFKA_PORT: '28010',
  STACK_KAFKA_CONTROLLER_PORT: '28011',
  STACK_KAFKA_SSL_PORT: '28012',
  STACK_KAFKA_SASL_SSL_PORT: '28013',
  STACK_POSTGRES_PORT: '28014',
  // The registry is the shared one, reached through the HTTPS proxy below.
  SCHEMA_REGISTRY_URL: shared.registry.url,
});
/** Another CA, that signed nothing the servers present. */
const pki = throwawayPki();

const REGISTRY_USER = 'registry-user';
const REGISTRY_PASSWORD = `registry-secret-${uniqueName('pw')}`;
const WRONG_SASL_PASSWORD = `sasl-wrong-${uniqueName('pw')}`;
const DATABASE_PASSWORD = `database-secret-${uniqueName('pw')}`;

let secure: Record<string, string>;
let proxy: Server;
/** Requests the HTTPS proxy let through (right password) and sent on to the registry. */
let forwarded = 0;
let registryUrl: string;

/** An HTTPS front for the shared registry with the stack CA's server certificate; it wants basic auth. */
async function startRegistryProxy(certFile: string, keyFile: string): Promise<Server> {
  const expected = `Basic ${Buffer.from(`${REGISTRY_USER}:${REGISTRY_PASSWORD}`).toString('base64')}`;
  const target = new URL(shared.registry.url);
  const server = createServer(
    { cert: readFileSync(certFile), key: readFileSync(keyFile) },
    async (request, response) => {
      if (request.headers.authorization !== expected) {
        response.writeHead(401, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error_code: 40101, message: 'Unauthorized' }));
        return;
      }
      forwarded += 1;
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const upstream = await fetch(`${target.origin}${request.url}`, {
        method: request.method ?? 'GET',
        headers: { 'content-type': request.headers['content-type'] ?? 'application/json' },
        ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
      });
      response.writeHead(upstream.status, {
        'content-type': upstream.headers.get('content-type') ?? 'application/json',
      });
      response.end(Buffer.from(await upstream.arrayBuffer()));
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

test.before(async () => {
  await stackUp(settings, () => undefined);
  secure = parseEnvFile(readFileSync(stackSecureEnvFile(settings), 'utf8'), 'stack-secure.env');
  const certificates = join(stackDir, 'secure');
  proxy = await startRegistryProxy(join(certificates, 'server.crt'), join(certificates, 'server.key'));
  const address = proxy.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  registryUrl = `https://127.0.0.1:${port}${new URL(shared.registry.url).pathname}`;
});

test.after.always(async () => {
  proxy?.close();
  await stackDown(settings, () => undefined);
  rmSync(stackDir, { recursive: true, force: true });
  rmSync(join(postgresDataDirectory(stackDir), '..'), { recursive: true, force: true });
  pki.remove();
});

const saslPassword = () => readFileSync(secure.STACK_SECURE_KAFKA_SASL_PASSWORD_FILE!, 'utf8').trim();

/** Kafka over the listener that requires the stack CA's client certificate. */
const mtls = (): NodeJS.ProcessEnv => ({
  KAFKA_BROKERS: secure.STACK_SECURE_KAFKA_MTLS_BROKERS,
  KAFKA_CA_FILE: secure.STACK_SECURE_CA_FILE,
  KAFKA_CERT_FILE: secure.STACK_SECURE_KAFKA_CERT_FILE,
  KAFKA_KEY_FILE: secure.STACK_SECURE_KAFKA_KEY_FILE,
});

/** Kafka over the SASL_SSL listener, SCRAM-SHA-512. */
const saslSsl = (password = saslPassword()): NodeJS.ProcessEnv => ({
  KAFKA_BROKERS: secure.STACK_SECURE_KAFKA_SASL_SSL_BROKERS,
  KAFKA_CA_FILE: secure.STACK_SECURE_CA_FILE,
  KAFKA_SASL_MECHANISM: secure.STACK_SECURE_KAFKA_SASL_MECHANISM,
  KAFKA_SASL_USERNAME: secure.STACK_SECURE_KAFKA_SASL_USERNAME,
  KAFKA_SASL_PASSWORD: password,
});

/**
 * Everything else over TLS too: the registry through the HTTPS proxy (basic auth), PostgreSQL verified
 * against the stack CA; a catalog, schema and group of the test's own.
 */
function environment(t: ExecutionContext, kafka: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const id = uniqueName('sec');
  const unique = uniqueCatalog(id);
  t.teardown(unique.remove);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...kafka,
    SCHEMA_REGISTRY_URL: registryUrl,
    SCHEMA_REGISTRY_CA_FILE: secure.STACK_SECURE_CA_FILE,
    SCHEMA_REGISTRY_USERNAME: REGISTRY_USER,
    SCHEMA_REGISTRY_PASSWORD: REGISTRY_PASSWORD,
    DATABASE_URL: secure.STACK_SECURE_DATABASE_URL,
    DATABASE_CA_FILE: secure.STACK_SECURE_CA_FILE,
    DATABASE_SCHEMA: id,
    PIPELINE_SCHEMAS_DIR: unique.dir,
    CONSUMER_GROUP_ID: `${id}-group`,
    CONSUMER_BATCH_MAX_WAIT_MS: '50',
  };
  // Only what this test sets decides the trust store.
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

interface Run {
  code: number | string;
  output: string;
  ms: number;
}

/** Every output of a failing run or a --help, for the secrets test. */
const outputs: string[] = [];

async function run(t: ExecutionContext, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  const started = Date.now();
  const child = spawnPipeline(t, args, env);
  const code = await child.exited;
  const result = { code, output: child.output(), ms: Date.now() - started };
  if (code !== 0) outputs.push(result.output);
  return result;
}

async function succeeds(t: ExecutionContext, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const result = await run(t, args, env);
  t.is(result.code, 0, `pipeline ${args.join(' ')}:\n${result.output}`);
  return result.output;
}

/**
 * Bounded: the whole run, the CLI's own start on a busy machine included. kafkajs' retries of a connection
 * error alone would take 30 s or more; the connection count is the exact proof of "not retried".
 */
const FAIL_FAST_MS = 20_000;

/** The broker behind a counting proxy: how many connections a refused run made. */
async function countedBroker(t: ExecutionContext, brokers: string, listenHost = '127.0.0.1') {
  const [host, port] = brokers.split(':');
  const proxy = await startTcpProxy(host!, Number(port), listenHost);
  t.teardown(() => proxy.close());
  return { proxy, brokers: `${listenHost}:${proxy.port}` };
}

async function refused(
  t: ExecutionContext,
  args: string[],
  env: NodeJS.ProcessEnv,
  expected: { exit: number; code: string; says: RegExp[]; proxy?: TcpProxy; connections?: number },
): Promise<Run> {
  const result = await run(t, args, env);
  t.is(result.code, expected.exit, result.output);
  t.true(result.output.includes(`error [${expected.code}]`), result.output);
  for (const pattern of expected.says) t.regex(result.output, pattern);
  t.notRegex(result.output, /BROKER_UNAVAILABLE|REGISTRY_UNAVAILABLE|DATABASE_UNAVAILABLE/);
  t.true(result.ms < FAIL_FAST_MS, `took ${result.ms} ms`);
  if (expected.proxy !== undefined) {
    // The TLS check before kafkajs connects (for SASL, then kafkajs' one attempt): never a retry loop.
    t.is(expected.proxy.connections(), expected.connections ?? 1, 'connections to the broker');
  }
  return result;
}

async function tlsDatabase(t: ExecutionContext): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: secure.STACK_SECURE_DATABASE_URL,
    ssl: { ca: readFileSync(secure.STACK_SECURE_CA_FILE!, 'utf8'), rejectUnauthorized: true },
  });
  await client.connect();
  t.teardown(() => client.end());
  return client;
}

/** topics, schemas, migrations, produce, consume: the whole pipeline over `kafka`, PostgreSQL TLS, HTTPS. */
async function wholePipeline(t: ExecutionContext, kafka: NodeJS.ProcessEnv): Promise<void> {
  const env = environment(t, kafka);
  const views = `${env.DATABASE_SCHEMA}.shop.page-views`;
  await succeeds(t, ['topics', 'create'], env);
  const before = forwarded;
  // The registry is reachable only through the proxy: registering went over HTTPS with the password.
  // (Not `schemas list`: Apicurio's /subjects stops at 1000 subjects, and the shared registry holds more.)
  t.regex(await succeeds(t, ['schemas', 'register', '--all-versions'], env), /registered/);
  t.true(forwarded > before, 'requests went through the HTTPS proxy');
  await succeeds(t, ['migrate', 'up'], env);
  await succeeds(t, ['produce', '--topic', views, '--count', '300', '--seed', '7'], env);

  const consumer = spawnPipeline(t, ['consume', '--topic', views, '--progress-seconds', '0'], env);
  const db = await tlsDatabase(t);
  const table = `"${env.DATABASE_SCHEMA}".page_views`;
  const count = async () => Number((await db.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
  await waitUntil('the 300 events are rows', async () => (await count()) >= 300, 120_000);
  // The consumer's own database sessions are encrypted (it was given only DATABASE_CA_FILE).
  const sessions = await db.query<{ n: string; encrypted: string }>(
    `SELECT count(*) AS n, count(*) FILTER (WHERE s.ssl) AS encrypted
       FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
      WHERE a.application_name = 'schema-first-pipeline' AND a.pid <> pg_backend_pid()`,
  );
  t.true(Number(sessions.rows[0]!.n) > 0, 'the consumer holds database sessions');
  t.is(sessions.rows[0]!.encrypted, sessions.rows[0]!.n, 'every pipeline session uses TLS');
  consumer.child.kill('SIGTERM');
  t.is(await consumer.exited, 0, consumer.output());
  const { rows } = await db.query<{ n: string; keys: string }>(
    `SELECT count(*) AS n, count(DISTINCT view_id) AS keys FROM ${table}`,
  );
  t.deepEqual(rows[0], { n: '300', keys: '300' }, 'each event once');
}

test('the whole pipeline runs over Kafka mutual TLS, PostgreSQL verified TLS and the registry over HTTPS with basic auth', async (t) => {
  await wholePipeline(t, mtls());
});

test('the whole pipeline runs over Kafka SASL_SSL with SCRAM-SHA-512', async (t) => {
  await wholePipeline(t, saslSsl());
});

test.serial(
  'Kafka TLS verified by the system CA store: KAFKA_TLS=true without KAFKA_CA_FILE trusts what Node trusts, no more',
  async (t) => {
    const { KAFKA_CA_FILE: _, ...withoutCaFile } = mtls();
    const { proxy, brokers } = await countedBroker(t, withoutCaFile.KAFKA_BROKERS!);
    const env = environment(t, { ...withoutCaFile, KAFKA_BROKERS: brokers, KAFKA_TLS: 'true' });
    // The throwaway CA is in no system store: refused, and the message says which store was asked.
    await refused(t, ['topics', 'create'], env, {
      exit: 8,
      code: 'TLS_CERTIFICATE_REJECTED',
      says: [new RegExp(`Kafka brokers ${brokers}`), /system CA store/],
      proxy,
    });
    // Node's default store plus NODE_EXTRA_CA_CERTS: the same settings now connect and verify.
    await succeeds(t, ['topics', 'create'], { ...env, NODE_EXTRA_CA_CERTS: secure.STACK_SECURE_CA_FILE });
  },
);

test.serial(
  'Kafka TLS with a wrong CA fails at once as TLS_CERTIFICATE_REJECTED (exit 8), not as an unavailable broker',
  async (t) => {
    const { proxy, brokers } = await countedBroker(t, mtls().KAFKA_BROKERS!);
    const env = environment(t, { ...mtls(), KAFKA_BROKERS: brokers, KAFKA_CA_FILE: pki.otherCaFile });
    await refused(t, ['topics', 'create'], env, {
      exit: 8,
      code: 'TLS_CERTIFICATE_REJECTED',
      says: [new RegExp(`Kafka brokers ${brokers}`), /KAFKA_CA_FILE/, /UNABLE_TO_VERIFY_LEAF_SIGNATURE/],
      proxy,
    });
  },
);

test.serial(
  'an expired client certificate is refused by the broker: exit 8 naming KAFKA_CERT_FILE, not retried',
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'expired-client-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const expired = issueClientCertificate(
      dir,
      'expired-client',
      { certFile: secure.STACK_SECURE_CA_FILE!, keyFile: join(stackDir, 'secure', 'ca.key') },
      -1,
    );
    const { proxy, brokers } = await countedBroker(t, mtls().KAFKA_BROKERS!);
    const env = environment(t, {
      ...mtls(),
      KAFKA_BROKERS: brokers,
      KAFKA_CERT_FILE: expired.certFile,
      KAFKA_KEY_FILE: expired.keyFile,
    });
    await refused(t, ['topics', 'create'], env, {
      exit: 8,
      code: 'TLS_CERTIFICATE_REJECTED',
      says: [
        new RegExp(`Kafka brokers ${brokers}`),
        /refused this client's TLS certificate/,
        /KAFKA_CERT_FILE/,
      ],
      proxy,
    });
  },
);

test.serial(
  'no client certificate on the mutual-TLS listener is refused the same way (exit 8)',
  async (t) => {
    const { KAFKA_CERT_FILE: _c, KAFKA_KEY_FILE: _k, ...caOnly } = mtls();
    const { proxy, brokers } = await countedBroker(t, caOnly.KAFKA_BROKERS!);
    await refused(t, ['topics', 'create'], environment(t, { ...caOnly, KAFKA_BROKERS: brokers }), {
      exit: 8,
      code: 'TLS_CERTIFICATE_REJECTED',
      says: [/refused this client's TLS certificate/],
      proxy,
    });
  },
);

test.serial(
  'a broker reached under a name its certificate does not carry fails at once (exit 8, the host name check)',
  async (t) => {
    // 127.0.0.2 is loopback too, but the broker's certificate names only 127.0.0.1 and localhost.
    const { proxy, brokers } = await countedBroker(t, mtls().KAFKA_BROKERS!, '127.0.0.2');
    const env = environment(t, { ...mtls(), KAFKA_BROKERS: brokers });
    await refused(t, ['topics', 'create'], env, {
      exit: 8,
      code: 'TLS_CERTIFICATE_REJECTED',
      says: [new RegExp(`Kafka brokers ${brokers}`), /ERR_TLS_CERT_ALTNAME_INVALID/],
      proxy,
    });
  },
);

test.serial(
  'a wrong SASL password fails at once as BROKER_AUTH_REJECTED (exit 9) without the password',
  async (t) => {
    const { proxy, brokers } = await countedBroker(t, saslSsl().KAFKA_BROKERS!);
    const env = environment(t, { ...saslSsl(WRONG_SASL_PASSWORD), KAFKA_BROKERS: brokers });
    const result = await refused(t, ['topics', 'create'], env, {
      exit: 9,
      code: 'BROKER_AUTH_REJECTED',
      says: [new RegExp(`Kafka brokers ${brokers}`), /SCRAM-SHA-512/i, /KAFKA_SASL_PASSWORD/],
      proxy,
      // The TLS check, then kafkajs' one SASL attempt.
      connections: 2,
    });
    t.false(result.output.includes(WRONG_SASL_PASSWORD));
  },
);

test.serial(
  'a wrong client key for the certificate is a configuration error (exit 3), not a retried connection',
  async (t) => {
    const env = environment(t, { ...mtls(), KAFKA_KEY_FILE: pki.valid.keyFile });
    const result = await run(t, ['topics', 'create'], env);
    t.is(result.code, 3, result.output);
    t.regex(result.output, /KAFKA_KEY_FILE is not the private key of the certificate in KAFKA_CERT_FILE/);
  },
);

test.serial(
  'PostgreSQL of the secure stack with a wrong CA fails at once as TLS_CERTIFICATE_REJECTED (exit 8)',
  async (t) => {
    const env = { ...environment(t, mtls()), DATABASE_CA_FILE: pki.otherCaFile };
    await refused(t, ['migrate', 'status'], env, {
      exit: 8,
      code: 'TLS_CERTIFICATE_REJECTED',
      says: [/PostgreSQL/, /DATABASE_CA_FILE/],
    });
  },
);

test.serial(
  'the registry over HTTPS: a wrong password is REGISTRY_REJECTED (exit 4), a wrong CA TLS_CERTIFICATE_REJECTED (exit 8)',
  async (t) => {
    const wrongPassword = `registry-wrong-${uniqueName('pw')}`;
    const rejected = await refused(
      t,
      ['schemas', 'list'],
      { ...environment(t, mtls()), SCHEMA_REGISTRY_PASSWORD: wrongPassword },
      { exit: 4, code: 'REGISTRY_REJECTED', says: [] },
    );
    t.false(rejected.output.includes(wrongPassword));
    await refused(
      t,
      ['schemas', 'list'],
      { ...environment(t, mtls()), SCHEMA_REGISTRY_CA_FILE: pki.otherCaFile },
      { exit: 8, code: 'TLS_CERTIFICATE_REJECTED', says: [/registry/i] },
    );
  },
);

test.serial(
  'no secret in the output of failing runs or of --help: SASL and registry passwords, DATABASE_URL password, private key',
  async (t) => {
    const url = new URL(secure.STACK_SECURE_DATABASE_URL!);
    url.password = DATABASE_PASSWORD;
    // Every secret set at once, each run failing somewhere else.
    const env = environment(t, saslSsl());
    const wrongDatabasePassword = { ...env, DATABASE_URL: url.toString() };
    const failing: Array<[string[], NodeJS.ProcessEnv]> = [
      [['migrate', 'status'], wrongDatabasePassword],
      [['topics', 'create'], { ...env, KAFKA_CA_FILE: pki.otherCaFile }],
      [['topics', 'create'], { ...env, KAFKA_SASL_PASSWORD: WRONG_SASL_PASSWORD }],
      [['topics', 'create'], { ...environment(t, mtls()), KAFKA_KEY_FILE: pki.valid.keyFile }],
      [['schemas', 'list'], { ...env, SCHEMA_REGISTRY_CA_FILE: pki.otherCaFile }],
    ];
    for (const [args, runEnv] of failing) {
      const result = await run(t, args, runEnv);
      // Outputs are shown only redacted, below.
      t.not(result.code, 0, `${args.join(' ')} was meant to fail`);
    }
    const helps = [
      ['--help'],
      ...['topics', 'schemas', 'migrate', 'consume', 'produce', 'check', 'stack'].map((c) => [c, '--help']),
    ].map((args) => spawnPipeline(t, args, wrongDatabasePassword));
    for (const help of helps) {
      t.is(await help.exited, 0, `${help.child.spawnargs.slice(2).join(' ')} exits 0`);
      outputs.push(help.output());
    }

    const keyBody = (file: string) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => line !== '' && !line.startsWith('-----'));
    const secrets = [
      saslPassword(),
      WRONG_SASL_PASSWORD,
      REGISTRY_PASSWORD,
      DATABASE_PASSWORD,
      ...keyBody(secure.STACK_SECURE_KAFKA_KEY_FILE!),
      ...keyBody(pki.valid.keyFile),
    ];
    t.true(outputs.length >= failing.length + 8);
    const redacted = (text: string) =>
      secrets.reduce((out, secret) => out.replaceAll(secret, '<SECRET>'), text);
    for (const output of outputs) {
      for (const secret of secrets) {
        // The failure message shows the output with every secret masked, and which secret by its hash.
        t.false(
          output.includes(secret),
          `a secret (sha256 ${createHash('sha256').update(secret).digest('hex').slice(0, 8)}) in:\n${redacted(output)}`,
        );
      }
    }
  },
);
