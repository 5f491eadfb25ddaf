/**
 * The secure stack's throwaway PKI (STACK_SECURE=true): a CA made here with openssl, one server certificate
 * for 127.0.0.1 and localhost (the broker's TLS listeners and PostgreSQL), one client certificate for the
 * broker's mutual-TLS listener, and the SCRAM password of the SASL_SSL listener. Made once per stack folder;
 * local only, so none of it protects anything beyond this machine.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PipelineError } from '../errors.ts';

export interface StackCertificates {
  dir: string;
  caFile: string;
  /** Server certificate and PKCS#8 key (127.0.0.1, localhost). */
  serverCertFile: string;
  serverKeyFile: string;
  /** Key and certificate chain in one PEM file, as Kafka's `ssl.keystore.type=PEM` reads it. */
  serverKeystoreFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  saslUsername: string;
  /** Read from `saslPasswordFile` (mode 0600). */
  saslPassword(): string;
  saslPasswordFile: string;
}

const SASL_USERNAME = 'pipeline';
const DAYS = '365';

function openssl(dir: string, args: string[]): void {
  try {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    const stderr = String((error as { stderr?: Buffer }).stderr ?? '').trim();
    throw new PipelineError(
      missing ? 'STACK_PREREQUISITE_MISSING' : 'STACK_START_FAILED',
      missing
        ? 'STACK_SECURE=true needs openssl on the PATH to make the throwaway CA'
        : `openssl ${args[0]} failed in ${dir}: ${stderr}`,
      { cause: error },
    );
  }
}

/** A P-256 key (PKCS#8, unencrypted) and a certificate for it signed by the stack's CA. */
function issue(dir: string, name: string, extensions: string): void {
  openssl(dir, [
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${name}`,
  ]);
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    DAYS,
    '-extfile',
    `${name}.ext`,
  ]);
}

/** The stack's certificates under `<stackDir>/secure`, made on the first call. */
export function ensureStackCertificates(stackDir: string): StackCertificates {
  const dir = join(stackDir, 'secure');
  const file = (name: string) => join(dir, name);
  const certificates: StackCertificates = {
    dir,
    caFile: file('ca.crt'),
    serverCertFile: file('server.crt'),
    serverKeyFile: file('server.key'),
    serverKeystoreFile: file('server-keystore.pem'),
    clientCertFile: file('client.crt'),
    clientKeyFile: file('client.key'),
    saslUsername: SASL_USERNAME,
    saslPasswordFile: file('sasl-password'),
    saslPassword: () => readFileSync(file('sasl-password'), 'utf8').trim(),
  };
  if (existsSync(file('complete'))) return certificates;

  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-subj',
    '/CN=schema-first-pipeline throwaway stack CA',
    '-days',
    DAYS,
  ]);
  issue(
    dir,
    'server',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n',
  );
  issue(dir, 'client', 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n');
  writeFileSync(
    certificates.serverKeystoreFile,
    `${readFileSync(certificates.serverKeyFile, 'utf8')}${readFileSync(certificates.serverCertFile, 'utf8')}`,
    { mode: 0o600 },
  );
  // base64url: no character that the `--add-scram` syntax ([name=…,password=…]) would read as its own.
  writeFileSync(certificates.saslPasswordFile, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
  writeFileSync(file('complete'), `${new Date().toISOString()}\n`);
  return certificates;
}
