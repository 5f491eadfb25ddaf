/**
 * What DATABASE_URL may say. node-postgres (pg-connection-string) copies every query parameter into the
 * client's configuration, over the settings the pipeline passes (search_path from DATABASE_SCHEMA, the
 * bounded timeouts, application_name, the TLS object), and a repeated parameter takes its LAST value. So a
 * URL is checked as node-postgres will read it: every parameter at most once, and none but `sslmode`.
 */

/** Hosts reached without leaving the machine, where a connection without TLS exposes nothing. */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

const TLS_PARAMETERS = new Set([
  'ssl',
  'uselibpqcompat',
  'sslrootcert',
  'sslcert',
  'sslkey',
  'sslnegotiation',
]);

export interface DatabaseTlsChoice {
  /** DATABASE_CA_FILE is set. */
  caFile: boolean;
  /** DATABASE_TLS=disabled: the explicit opt-in to a connection without TLS to a host that is not loopback. */
  tlsDisabled: boolean;
}

/**
 * Every problem of a DATABASE_URL; empty when it is usable. pg-connection-string reads the parameters with
 * the same WHATWG URLSearchParams (after an encodeURI that leaves `&`, `=` and `#` alone), so the names and
 * values seen here are the ones node-postgres will use.
 */
export function databaseUrlProblems(url: URL, tls: DatabaseTlsChoice): string[] {
  const problems: string[] = [];

  const counts = new Map<string, number>();
  for (const name of url.searchParams.keys()) counts.set(name, (counts.get(name) ?? 0) + 1);
  for (const [name, count] of counts) {
    if (count > 1) {
      problems.push(
        `DATABASE_URL: the "${name}" parameter is given ${count} times (node-postgres would use the last one): give it once`,
      );
    }
    if (TLS_PARAMETERS.has(name)) {
      problems.push(
        `DATABASE_URL: the "${name}" parameter is refused (it can replace or turn off TLS verification); use sslmode=verify-full or DATABASE_CA_FILE`,
      );
    } else if (name !== 'sslmode') {
      problems.push(
        `DATABASE_URL: the "${name}" parameter is refused: node-postgres would apply it over the pipeline's own connection settings (host, TLS, search_path from DATABASE_SCHEMA, the bounded timeouts); only sslmode is accepted`,
      );
    }
  }

  const sslmodes = url.searchParams.getAll('sslmode');
  // What node-postgres will use: the last value.
  const sslmode = sslmodes.at(-1);
  for (const mode of new Set(sslmodes)) {
    if (mode !== 'verify-full' && mode !== 'disable') {
      problems.push(
        `DATABASE_URL: sslmode=${mode} is refused (it may not verify the server); use verify-full or DATABASE_CA_FILE`,
      );
    }
  }
  if (sslmode !== undefined && tls.caFile) {
    problems.push('DATABASE_URL has sslmode and DATABASE_CA_FILE is set: choose one way to configure TLS');
  }

  if (url.hostname === '') {
    problems.push('DATABASE_URL names no host');
    return problems;
  }
  const encrypted = sslmode === 'verify-full' || tls.caFile;
  if (tls.tlsDisabled && encrypted) {
    problems.push('DATABASE_TLS=disabled contradicts sslmode=verify-full / DATABASE_CA_FILE: choose one');
  } else if (!encrypted && !tls.tlsDisabled && !isLoopbackHost(url.hostname)) {
    problems.push(
      `DATABASE_URL: the connection to ${url.hostname} would not use TLS: add sslmode=verify-full or set DATABASE_CA_FILE, or set DATABASE_TLS=disabled to accept an unencrypted connection to a host that is not loopback`,
    );
  }
  return problems;
}
