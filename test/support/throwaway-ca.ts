import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CaFiles, createCa, issueCertificate } from '../../src/stack/openssl-ca.ts';

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

function issue(dir: string, name: string, extensions: string, days: number, ca: CaFiles): IssuedCertificate {
  const files = issueCertificate(dir, name, extensions, days, ca);
  return { ...files, cert: readFileSync(files.certFile, 'utf8'), key: readFileSync(files.keyFile, 'utf8') };
}

/** A CA, another CA and three server certificates made with `openssl` in a temporary folder. */
export function throwawayPki(): ThrowawayPki {
  const dir = mkdtempSync(join(tmpdir(), 'throwaway-ca-'));
  createCa(dir, 'ca', 'ca', 2);
  createCa(dir, 'other-ca', 'other-ca', 2);
  const ca = { certFile: 'ca.crt', keyFile: 'ca.key' };
  const server = 'subjectAltName=IP:127.0.0.1,DNS:localhost';
  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    otherCaFile: join(dir, 'other-ca.crt'),
    valid: issue(dir, 'valid', server, 1, ca),
    expired: issue(dir, 'expired', server, -1, ca),
    otherHost: issue(dir, 'other-host', 'subjectAltName=DNS:db.example', 1, ca),
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
  ca: CaFiles,
  days: number,
): IssuedCertificate {
  return issue(dir, name, 'extendedKeyUsage=clientAuth', days, ca);
}
