import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface IssuedCertificate {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

export interface ThrowawayPki {
  dir: string;
  /** The CA the good certificates chain to. */
  caFile: string;
  /** Another CA, that signed nothing the servers present: the "wrong CA". */
  otherCaFile: string;
  /** Names 127.0.0.1 and localhost, valid for a day. */
  valid: IssuedCertificate;
  /** Names 127.0.0.1, but expired yesterday. */
  expired: IssuedCertificate;
  /** Valid, but for db.example only: a host name mismatch when reached as 127.0.0.1. */
  otherHost: IssuedCertificate;
  remove(): void;
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function newCa(dir: string, name: string): void {
  openssl(
    dir,
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-subj',
    `/CN=${name}`,
    '-days',
    '2',
  );
}

function issue(
  dir: string,
  name: string,
  extensions: string,
  days: number,
  ca: { certFile: string; keyFile: string } = { certFile: 'ca.crt', keyFile: 'ca.key' },
): IssuedCertificate {
  openssl(
    dir,
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
  );
  writeFileSync(join(dir, `${name}.ext`), `${extensions}\n`);
  // A negative -days makes notAfter fall before now: an expired certificate.
  openssl(
    dir,
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    ca.certFile,
    '-CAkey',
    ca.keyFile,
    '-CAserial',
    `${name}.srl`,
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    String(days),
    '-extfile',
    `${name}.ext`,
  );
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  return { certFile, keyFile, cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}

/** A CA, another CA and three server certificates made with `openssl` in a temporary folder. */
export function throwawayPki(): ThrowawayPki {
  const dir = mkdtempSync(join(tmpdir(), 'throwaway-ca-'));
  newCa(dir, 'ca');
  newCa(dir, 'other-ca');
  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    otherCaFile: join(dir, 'other-ca.crt'),
    valid: issue(dir, 'valid', 'subjectAltName=IP:127.0.0.1,DNS:localhost', 1),
    expired: issue(dir, 'expired', 'subjectAltName=IP:127.0.0.1,DNS:localhost', -1),
    otherHost: issue(dir, 'other-host', 'subjectAltName=DNS:db.example', 1),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * A client certificate signed by another CA's files (the secure stack's own CA), into `dir`; `days` below
 * zero makes it expired.
 */
export function issueClientCertificate(
  dir: string,
  name: string,
  ca: { certFile: string; keyFile: string },
  days: number,
): IssuedCertificate {
  return issue(dir, name, 'extendedKeyUsage=clientAuth', days, ca);
}
