/**
 * The secure stack's throwaway PKI (STACK_SECURE=true): a CA made here with openssl, one server certificate
 * for 127.0.0.1 and localhost (the broker's TLS listeners and PostgreSQL), one client certificate for the
 * broker's mutual-TLS listener, and the SCRAM password of the SASL_SSL listener. Made once per stack folder;
 * local only, so none of it protects anything beyond this machine.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCa, issueCertificate } from './openssl-ca.ts';

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
const DAYS = 365;
/** The stack CA's files, relative to its folder (openssl runs there). */
const CA = { certFile: 'ca.crt', keyFile: 'ca.key' };

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
  createCa(dir, 'ca', 'schema-first-pipeline throwaway stack CA', DAYS);
  issueCertificate(
    dir,
    'server',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n',
    DAYS,
    CA,
  );
  issueCertificate(dir, 'client', 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n', DAYS, CA);
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
