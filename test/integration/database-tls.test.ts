/**
 * TLS to PostgreSQL over a real handshake: a private server (the stack's own PostgreSQL on a port of its
 * own, so that the shared one is never reconfigured) presenting certificates made by a throwaway CA.
 */
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chownSync, copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import pg from 'pg';
import { type DatabaseSettings, parseStackSettings, projectRoot } from '../../src/config.ts';
import { retryTransient } from '../../src/consumer/retry-transient.ts';
import { PipelineError, TransientError } from '../../src/errors.ts';
import { checkDatabaseContract } from '../../src/sink/contract-gate.ts';
import { createPool } from '../../src/sink/database.ts';
import { postgresDataDirectory } from '../../src/stack/postgres-service.ts';
import { stackDown, stackUp } from '../../src/stack/stack.ts';
import { waitUntil } from '../support/cli-process.ts';
import { catalog } from '../support/sink-fixtures.ts';
import { type IssuedCertificate, throwawayPki } from '../support/throwaway-ca.ts';

const PORT = 24010;
const URL = `postgres://postgres:postgres@127.0.0.1:${PORT}/postgres`;
const pki = throwawayPki();
const stackDir = mkdtempSync(join(tmpdir(), 'database-tls-'));
const settings = parseStackSettings({
  STACK_DIR: stackDir,
  STACK_POSTGRES_PORT: String(PORT),
  KAFKA_BROKERS: '127.0.0.1:1',
  SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1',
});
const dataDir = postgresDataDirectory(stackDir);

/** Administration over the loopback without TLS (the server accepts both). */
async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** The certificate a fresh connection is shown, read without verifying it. */
async function presentedFingerprint(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: URL, ssl: { rejectUnauthorized: false } });
  try {
    await client.connect();
    const stream = (client as unknown as { connection: { stream: import('node:tls').TLSSocket } }).connection
      .stream;
    return stream.getPeerCertificate().fingerprint256;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Makes the server present `certificate` and waits until a new connection is shown it. */
async function serve(name: string, certificate: IssuedCertificate): Promise<void> {
  const owner = userInfo().uid === 0 ? readOwner() : undefined;
  for (const [from, to] of [
    [certificate.certFile, `${name}.crt`],
    [certificate.keyFile, `${name}.key`],
  ] as const) {
    copyFileSync(from, join(dataDir, to));
    // PostgreSQL reads its key only when it owns it (it runs as the postgres user under root).
    if (owner !== undefined) chownSync(join(dataDir, to), owner.uid, owner.gid);
  }
  await admin(`ALTER SYSTEM SET ssl_cert_file = '${name}.crt'`);
  await admin(`ALTER SYSTEM SET ssl_key_file = '${name}.key'`);
  await admin('ALTER SYSTEM SET ssl = on');
  await admin('SELECT pg_reload_conf()');
  const wanted = new X509Certificate(certificate.cert).fingerprint256;
  await waitUntil(
    `PostgreSQL presents ${name}`,
    async () => (await presentedFingerprint()) === wanted,
    30_000,
  );
}

function readOwner(): { uid: number; gid: number } {
  const { uid, gid } = statSync(join(dataDir, 'PG_VERSION'));
  return { uid, gid };
}

test.before(async () => {
  await stackUp(settings, () => undefined);
});

test.after.always(async () => {
  await stackDown(settings, () => undefined);
  rmSync(stackDir, { recursive: true, force: true });
  rmSync(join(dataDir, '..'), { recursive: true, force: true });
  pki.remove();
});

const run = promisify(execFile);

/** `pipeline migrate status` against the private server, with DATABASE_CA_FILE = `caFile`. */
async function migrateStatus(caFile: string): Promise<{ code: number; stderr: string; ms: number }> {
  const started = Date.now();
  try {
    const { stderr } = await run(
      process.execPath,
      [join(projectRoot, 'bin', 'pipeline.js'), 'migrate', 'status'],
      {
        cwd: projectRoot,
        env: {
          ...process.env,
          KAFKA_BROKERS: '127.0.0.1:1',
          SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1',
          DATABASE_URL: URL,
          DATABASE_CA_FILE: caFile,
          DATABASE_SCHEMA: 'tls_probe',
        },
      },
    );
    return { code: 0, stderr, ms: Date.now() - started };
  } catch (error) {
    const e = error as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr, ms: Date.now() - started };
  }
}

const cases = [
  {
    name: 'a wrong CA',
    served: () => pki.valid,
    ca: () => pki.otherCaFile,
    code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  },
  {
    name: 'an expired certificate',
    served: () => pki.expired,
    ca: () => pki.caFile,
    code: 'CERT_HAS_EXPIRED',
  },
  {
    name: 'a host name mismatch',
    served: () => pki.otherHost,
    ca: () => pki.caFile,
    code: 'ERR_TLS_CERT_ALTNAME_INVALID',
  },
];

for (const [index, c] of cases.entries()) {
  test.serial(
    `PostgreSQL: ${c.name} fails fast as TLS_CERTIFICATE_REJECTED, not retried (was: CONTRACT_MISMATCH)`,
    async (t) => {
      await serve(`case${index}`, c.served());
      const database: DatabaseSettings = {
        connectionString: URL,
        schema: 'public',
        ca: readFileSync(c.ca(), 'utf8'),
      };
      const pool = createPool(database, { max: 1, log: t.log });
      t.teardown(() => pool.end());
      let retries = 0;
      const started = Date.now();
      const error = await t.throwsAsync(
        retryTransient(() => checkDatabaseContract(pool, catalog, join(projectRoot, 'migrations')), {
          shouldContinue: () => true,
          heartbeat: async () => {},
          onRetry: () => {
            retries++;
          },
        }),
        { instanceOf: PipelineError },
      );
      const ms = Date.now() - started;
      t.false(error instanceof TransientError);
      t.is(error.code, 'TLS_CERTIFICATE_REJECTED');
      t.is(error.details.tls, c.code);
      t.regex(
        error.message,
        /^PostgreSQL \(DATABASE_URL, DATABASE_CA_FILE\): the server's TLS certificate was refused/,
      );
      t.is(retries, 0);
      t.true(ms < 10_000, `${ms} ms`);
      t.log(`refused in ${ms} ms`);

      const cli = await migrateStatus(c.ca());
      t.is(cli.code, 8, cli.stderr);
      t.regex(
        cli.stderr,
        /error \[TLS_CERTIFICATE_REJECTED\]: PostgreSQL \(DATABASE_URL, DATABASE_CA_FILE\)/,
      );
      t.regex(cli.stderr, new RegExp(c.code));
      t.log(`pipeline migrate status: exit ${cli.code} in ${cli.ms} ms`);
    },
  );
}

test.serial(
  'PostgreSQL: the valid certificate of the configured CA is accepted (the failures above are TLS)',
  async (t) => {
    await serve('valid', pki.valid);
    const pool = createPool(
      { connectionString: URL, schema: 'public', ca: readFileSync(pki.caFile, 'utf8') },
      { max: 1, log: t.log },
    );
    t.teardown(() => pool.end());
    const { rows } = await pool.query<{ ssl: boolean }>(
      'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
    );
    t.deepEqual(rows, [{ ssl: true }]);
    const cli = await migrateStatus(pki.caFile);
    t.is(cli.code, 0, cli.stderr);
  },
);
