import test from 'ava';
import { EXIT, exitCodeOf } from '../../src/cli/exit-codes.ts';
import { ConfigurationError, PipelineError, PoisonMessageError, TransientError } from '../../src/errors.ts';
import { classifyDatabaseError, connectionConfig } from '../../src/sink/database.ts';

const pgError = (code: string, message = `failed with ${code}`) =>
  Object.assign(new Error(message), { code, severity: 'ERROR' });

test('connection and concurrency failures are transient: DATABASE_UNAVAILABLE', (t) => {
  const transient = [
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
    Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
    new Error('Connection terminated unexpectedly'),
    new Error('timeout exceeded when trying to connect'),
    pgError('08006'),
    pgError('08P01'),
    pgError('57P01'),
    pgError('57P02'),
    pgError('57P03'),
    pgError('57P05'),
    pgError('53300'),
    pgError('53100'),
    pgError('40001'),
    pgError('40P01'),
    pgError('55P03'),
  ];
  for (const error of transient) {
    const classified = classifyDatabaseError(error, 'orders');
    t.true(classified instanceof TransientError, `${(error as { code?: string }).code ?? error.message}`);
    t.is(classified.code, 'DATABASE_UNAVAILABLE');
    t.is(classified.cause, error);
  }
});

test('data exceptions and constraint violations are row-level, with the SQLSTATE', (t) => {
  for (const code of ['22003', '22P02', '22021', '22P05', '23502', '23505', '23514']) {
    const classified = classifyDatabaseError(pgError(code, 'refused'), 'orders');
    t.true(classified instanceof PoisonMessageError, code);
    t.is(classified.code, 'ROW_REJECTED');
    t.is((classified as PoisonMessageError).sqlState, code);
  }
});

test('anything else is a non-retriable CONTRACT_MISMATCH naming the table', (t) => {
  for (const code of ['42703', '42P01', '42804', 'XX000']) {
    const classified = classifyDatabaseError(pgError(code, `column "x" of relation "orders"`), 'orders');
    t.false(classified instanceof TransientError);
    t.false(classified instanceof PoisonMessageError);
    t.is(classified.code, 'CONTRACT_MISMATCH', code);
    t.regex(classified.message, /table orders/);
    t.is(classified.details.code, code);
  }
  t.is(classifyDatabaseError(new TypeError('bug')).code, 'CONTRACT_MISMATCH');
});

test('a refused login or a missing database is configuration', (t) => {
  t.true(classifyDatabaseError(pgError('28P01')) instanceof ConfigurationError);
  t.true(classifyDatabaseError(pgError('3D000')) instanceof ConfigurationError);
});

test('an idle session timeout (57P05) is transient (was: CONTRACT_MISMATCH, exit 4)', (t) => {
  const classified = classifyDatabaseError(
    pgError('57P05', 'terminating connection due to idle-session timeout'),
  );
  t.true(classified instanceof TransientError);
  t.is(classified.code, 'DATABASE_UNAVAILABLE');
});

test('a refused server certificate is TLS_CERTIFICATE_REJECTED, not CONTRACT_MISMATCH, never transient', (t) => {
  for (const code of [
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'SELF_SIGNED_CERT_IN_CHAIN',
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    'CERT_HAS_EXPIRED',
    'ERR_TLS_CERT_ALTNAME_INVALID',
  ]) {
    const error = Object.assign(new Error(`tls says ${code}`), { code });
    const classified = classifyDatabaseError(error, 'orders');
    t.false(classified instanceof TransientError, code);
    t.is(classified.code, 'TLS_CERTIFICATE_REJECTED', code);
    t.regex(
      classified.message,
      /^PostgreSQL \(DATABASE_URL, DATABASE_CA_FILE\): the server's TLS certificate was refused/,
    );
    t.is(classified.details.tls, code);
    t.is(exitCodeOf(classified), 8);
  }
  const noTls = classifyDatabaseError(new Error('The server does not support SSL connections'));
  t.true(noTls instanceof ConfigurationError);
});

test('a PipelineError passes through unchanged', (t) => {
  const error = new PipelineError('CATALOG_INVALID', 'x');
  t.is(classifyDatabaseError(error), error);
});

test('every connection gets the schema as search_path, and TLS verifies against the CA', (t) => {
  const plain = connectionConfig({ connectionString: 'postgres://u@h/db', schema: 'pipe_line' });
  t.regex(plain.options!, /^-c search_path="pipe_line" /);
  t.regex(
    plain.options!,
    /-c statement_timeout=\d+s -c lock_timeout=\d+s -c idle_in_transaction_session_timeout=\d+s$/,
  );
  t.true(plain.keepAlive);
  t.is(plain.ssl, undefined);
  t.is(plain.application_name, 'schema-first-pipeline');
  const spaced = connectionConfig({ connectionString: 'postgres://u@h/db', schema: 'a b' });
  t.regex(spaced.options!, /^-c search_path="a\\ b" -c/, 'spaces escaped for the startup options');
  const tls = connectionConfig(
    { connectionString: 'postgres://u@h/db', schema: 'public', ca: 'PEM' },
    { applicationName: 'x' },
  );
  t.deepEqual(tls.ssl, { ca: 'PEM', rejectUnauthorized: true });
  t.is(tls.application_name, 'x');
});

test('a failover to a read-only primary is transient; limits and double-touched rows are row-level', (t) => {
  t.is(
    classifyDatabaseError(Object.assign(new Error('read-only'), { code: '25006' })).code,
    'DATABASE_UNAVAILABLE',
  );
  for (const code of ['21000', '54000']) {
    const classified = classifyDatabaseError(Object.assign(new Error(code), { code }));
    t.is(classified.code, 'ROW_REJECTED', code);
  }
});

test('every certificate verification code is TLS_CERTIFICATE_REJECTED naming the connection, never a table mismatch (was: UNABLE_TO_VERIFY_LEAF_SIGNATURE reported as CONTRACT_MISMATCH)', (t) => {
  for (const code of [
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'SELF_SIGNED_CERT_IN_CHAIN',
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    'CERT_HAS_EXPIRED',
    'INVALID_CA',
    'HOSTNAME_MISMATCH',
    'ERR_TLS_CERT_ALTNAME_INVALID',
  ]) {
    const classified = classifyDatabaseError(
      Object.assign(new Error('certificate refused'), { code }),
      'orders',
    );
    t.is(classified.code, 'TLS_CERTIFICATE_REJECTED', code);
    t.false(classified instanceof TransientError, code);
    t.regex(classified.message, /PostgreSQL \(DATABASE_URL, DATABASE_CA_FILE\)/);
    t.is(exitCodeOf(classified), EXIT.tls, code);
  }
});

test('the refused column and constraint travel as details of a refused row', (t) => {
  const error = Object.assign(pgError('23514', 'new row violates check constraint "orders_status_check"'), {
    column: 'status',
    constraint: 'orders_status_check',
  });
  t.deepEqual(classifyDatabaseError(error, 'orders').details, {
    table: 'orders',
    code: '23514',
    column: 'status',
    constraint: 'orders_status_check',
  });
});

test('something thrown that is no Error is classified by its text instead of crashing the classifier', (t) => {
  const fromString = classifyDatabaseError('Connection terminated unexpectedly');
  t.true(fromString instanceof TransientError, 'a bare message still says the connection is gone');
  for (const thrown of [undefined, null, 42, { code: 7, message: ['not', 'text'] }]) {
    const classified = classifyDatabaseError(thrown);
    t.is(classified.code, 'CONTRACT_MISMATCH', String(thrown));
    t.deepEqual(classified.details, {}, 'a code that is not a string is not reported as a SQLSTATE');
  }
});
