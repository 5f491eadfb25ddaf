/**
 * JSON over HTTP(S) to a Confluent-compatible registry, with the failure classes the pipeline needs:
 * network faults, timeouts and 5xx become TransientError('REGISTRY_UNAVAILABLE') after a few retries;
 * 401/403 become REGISTRY_REJECTED (the password is never part of any message); every other status is
 * returned with its `error_code` for the caller to decide, because what a 404 means depends on the call.
 *
 * Why not @kafkajs/confluent-schema-registry's `api` (mappersmith) client: its error middleware turns every
 * non-2xx answer into a ResponseError that keeps the status and the message text but drops the body, so the
 * `error_code` (40401 subject vs 40403 schema, 40408 no subject config) is lost and only message text would
 * remain to tell them apart. It also has no timeout, and its retry options are merged into a module-level
 * default object (shared by every instance in the process).
 */
import http from 'node:http';
import https from 'node:https';
import type { RegistrySettings } from '../config.ts';
import { PipelineError, TransientError } from '../errors.ts';
import { certificateError, isCertificateError } from '../tls-error.ts';

export interface RegistryHttpOptions {
  /** Milliseconds without an answer before a request counts as failed (then retried). Default 10 000. */
  timeoutMs?: number;
  /**
   * Extra attempts after a network fault, timeout or 5xx. Every request this client makes is idempotent
   * (registering an already registered schema returns its id). Default 2.
   */
  retries?: number;
}

export interface RegistryResponse {
  status: number;
  /** Parsed JSON, or the text when the body is not JSON. */
  body: unknown;
  /** The Confluent `error_code` of an error answer (40401, 40403, 409, 42201…). */
  errorCode: number | undefined;
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

export class RegistryHttp {
  /** The URL without credentials, for messages. */
  readonly displayUrl: string;
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly authorization: string | undefined;
  private readonly timeoutMs: number;
  private readonly retries: number;

  constructor(
    private readonly settings: RegistrySettings,
    options: RegistryHttpOptions = {},
  ) {
    this.base = new URL(settings.url.endsWith('/') ? settings.url : `${settings.url}/`);
    this.displayUrl = `${this.base.origin}${this.base.pathname.replace(/\/$/, '')}`;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.retries = options.retries ?? 2;
    this.agent =
      this.base.protocol === 'https:'
        ? new https.Agent({
            keepAlive: true,
            rejectUnauthorized: true,
            ...(settings.ca ? { ca: settings.ca } : {}),
          })
        : new http.Agent({ keepAlive: true });
    if (settings.auth) {
      const token = Buffer.from(`${settings.auth.username}:${settings.auth.password}`).toString('base64');
      this.authorization = `Basic ${token}`;
    }
  }

  /** Sends one request; `path` is relative to the registry's base URL, with its segments already encoded. */
  async request(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<RegistryResponse> {
    let lastFault = '';
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** (attempt - 1)));
      let response: RegistryResponse;
      try {
        response = await this.once(method, path, body);
      } catch (error) {
        if (isCertificateError(error)) throw certificateError(error, `schema registry ${this.displayUrl}`);
        lastFault = (error as Error).message;
        continue;
      }
      // 408 and 429 are the registry (or a proxy in front of it) asking to come back later.
      if (response.status >= 500 || response.status === 408 || response.status === 429) {
        lastFault = `HTTP ${response.status}${response.errorCode ? ` (error_code ${response.errorCode})` : ''}`;
        continue;
      }
      if (response.status === 401 || response.status === 403)
        throw this.authFailure(response.status, method, path);
      return response;
    }
    throw new TransientError(
      'REGISTRY_UNAVAILABLE',
      `schema registry ${this.displayUrl} did not answer ${method} /${path} (${this.retries + 1} attempts): ${lastFault}`,
      { details: { url: this.displayUrl } },
    );
  }

  /** Frees the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  private authFailure(status: number, method: string, path: string): PipelineError {
    const who = this.settings.auth
      ? `the credentials of user "${this.settings.auth.username}"`
      : 'an anonymous request (set SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD)';
    const what = status === 401 ? 'authentication failed for' : `${method} /${path} is forbidden for`;
    return new PipelineError(
      'REGISTRY_REJECTED',
      `schema registry ${this.displayUrl}: ${what} ${who} (HTTP ${status})`,
      {
        details: { status },
      },
    );
  }

  private once(method: string, path: string, body: unknown): Promise<RegistryResponse> {
    const url = new URL(path, this.base);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { accept: `${CONTENT_TYPE}, application/json` };
    if (payload) {
      headers['content-type'] = CONTENT_TYPE;
      headers['content-length'] = String(payload.length);
    }
    if (this.authorization) headers.authorization = this.authorization;
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const request = transport.request(url, { method, headers, agent: this.agent }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            // Not JSON (a proxy's HTML error page): keep the text.
          }
          const errorCode = (parsed as { error_code?: unknown } | undefined)?.error_code;
          resolve({
            status: response.statusCode ?? 0,
            body: parsed,
            errorCode: typeof errorCode === 'number' ? errorCode : undefined,
          });
        });
      });
      request.setTimeout(this.timeoutMs, () =>
        request.destroy(new Error(`no answer within ${this.timeoutMs} ms`)),
      );
      request.on('error', reject);
      request.end(payload);
    });
  }
}
