/**
 * The two openssl steps every throwaway PKI here is made of: a self-signed P-256 CA, and a P-256 key with a
 * certificate signed by a CA. Used by the secure stack (stack-certificates.ts) and by the TLS tests' own
 * CAs (test/support/throwaway-ca.ts), so both make certificates the same way.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PipelineError } from '../errors.ts';

/** Runs openssl in `dir`; its stderr is kept in the error. */
export function openssl(dir: string, args: readonly string[]): void {
  try {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    const stderr = String((error as { stderr?: Buffer }).stderr ?? '').trim();
    throw new PipelineError(
      missing ? 'STACK_PREREQUISITE_MISSING' : 'STACK_START_FAILED',
      missing
        ? 'openssl is needed on the PATH to make a throwaway CA (STACK_SECURE=true)'
        : `openssl ${args[0]} failed in ${dir}: ${stderr}`,
      { cause: error },
    );
  }
}

const P256 = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** `<name>.key` and a self-signed `<name>.crt` with the subject `/CN=<commonName>`, in `dir`. */
export function createCa(dir: string, name: string, commonName: string, days: number): void {
  openssl(dir, [
    'req',
    '-x509',
    ...P256,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-subj',
    `/CN=${commonName}`,
    '-days',
    String(days),
  ]);
}

/** Where a CA's certificate and key are (relative to `dir` or absolute). */
export interface CaFiles {
  certFile: string;
  keyFile: string;
}

/**
 * `<name>.key` (PKCS#8, unencrypted) and `<name>.crt` signed by `ca`, with the given X.509 extensions
 * (openssl extfile lines) and validity; `days` below zero makes notAfter fall before now (expired).
 * Returns the absolute paths.
 */
export function issueCertificate(
  dir: string,
  name: string,
  extensions: string,
  days: number,
  ca: CaFiles,
): { certFile: string; keyFile: string } {
  openssl(dir, ['req', ...P256, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  writeFileSync(join(dir, `${name}.ext`), extensions.endsWith('\n') ? extensions : `${extensions}\n`);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    ca.certFile,
    '-CAkey',
    ca.keyFile,
    // A serial file per certificate: two issued at once never share (or race on) one.
    '-CAserial',
    `${name}.srl`,
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    String(days),
    '-extfile',
    `${name}.ext`,
  ]);
  return { certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`) };
}
