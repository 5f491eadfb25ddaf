/**
 * The registry transport: @kafkajs/confluent-schema-registry's API client (mappersmith: its resources, JSON
 * encoding, basic auth, user agent), given an `https.Agent` for the CA and this project's middlewares:
 *
 * - a total deadline per call (connect, answer, body, retries and their waits), not an idle timeout: an
 *   AbortSignal on every attempt, and the call fails when the deadline passes even if a server trickles;
 * - the answer's body kept on errors, so decisions rest on its `error_code` (40401 subject vs 40403 schema,
 *   40408 no subject level), and its `Retry-After` header honoured on 429/503 within the deadline;
 * - retries configured per instance.
 *
 * What 3.9 cannot do (see docs/schemas.md, Registry compatibility notes): its errorMiddleware turns every error answer into a
 * ResponseError with the status and the message text only (body and headers gone), and it sits inside every
 * middleware given through `middlewares`; its retry middleware reads an options object shared by every
 * instance in the process (`Object.assign(DEFAULT_RETRY, retry)`). So on this instance's own API client,
 * and on no other, those two are replaced: errorMiddleware by `keepErrorBody` in the same place, the shared
 * retry by the per-instance retries of `deadlineAndRetries`. Nothing shared is changed.
 */
import http from 'node:http';
import https from 'node:https';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
// The library's API client alone (what `new SchemaRegistry(…).api` is): its index also loads the JSON Schema
// and Protobuf helpers (ajv, protobufjs: ~130 modules, ~2 MB of heap) that an Avro-only consumer never calls.
import apiClientModule from '@kafkajs/confluent-schema-registry/dist/api/index.js';
import type { RegistrySettings } from '../config.ts';
import { PipelineError, TransientError } from '../errors.ts';
import { certificateError, isCertificateError } from '../tls-error.ts';

// mappersmith's types as the library's typings see them (CommonJS declarations, not the ESM copies that an
// import from this ESM module would resolve to: the two do not match).
type Middleware = NonNullable<ConstructorParameters<typeof SchemaRegistry>[0]['middlewares']>[number];
type Response = Awaited<ReturnType<Parameters<NonNullable<ReturnType<Middleware>['response']>>[0]>>;

export interface RegistryHttpOptions {
  /** Milliseconds for a whole call: every attempt, every wait between attempts. Default 10 000. */
  timeoutMs?: number;
  /**
   * Extra attempts after a network fault or a 5xx, 408 or 429 answer, within the deadline. Every request
   * this client makes is idempotent (registering an already registered schema returns its id). Default 2.
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

type Call = (params?: Record<string, unknown>) => Promise<Response>;

/** The library's API client (`SchemaRegistry.api`), as far as this project calls it. */
export interface RegistryApi {
  Schema: { find: Call };
  Subject: {
    all: Call;
    latestVersion: Call;
    version: Call;
    config: Call;
    updateConfig: Call;
    register: Call;
    registered: Call;
    compatible: Call;
  };
}

/** Milliseconds a `Retry-After` header asks for (seconds or an HTTP date); undefined when absent or bad. */
export function retryAfterMs(header: unknown, now = Date.now()): number | undefined {
  if (typeof header !== 'string' || header.trim() === '') return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** What keepErrorBody rejects with for an HTTP error answer: its status, body, error_code and Retry-After. */
interface ErrorAnswer {
  status: number;
  body: unknown;
  errorCode: number | undefined;
  retryAfterMs: number | undefined;
}

function errorAnswerOf(error: unknown): ErrorAnswer | undefined {
  if (!(error instanceof PipelineError) || error.code !== 'REGISTRY_REJECTED') return undefined;
  const answer = error.details.answer as ErrorAnswer | undefined;
  return typeof answer?.status === 'number' ? answer : undefined;
}

/**
 * In errorMiddleware's place: an error answer becomes a PipelineError carrying status, body, `error_code`
 * and `Retry-After` (and `status`, which the library's own methods test); a network fault a TransientError
 * with Node's error as cause, a certificate the client does not trust a REGISTRY_REJECTED.
 */
function keepErrorBody(displayUrl: string): Middleware {
  return () => ({
    response: (next) =>
      next().catch((response: Response | Error) => {
        // mappersmith rejects with the Response; anything else is not an answer to translate.
        if (!('request' in response) || typeof response.request !== 'function') throw response;
        const fault = response.error();
        const label = `${response.request().method().toUpperCase()} ${response.request().path()}`;
        if (fault !== null && fault !== undefined) {
          // Not trusted is not unavailable: retrying cannot fix a CA file, and must not repeat an interception.
          if (isCertificateError(fault)) throw certificateError(fault, `schema registry ${displayUrl}`);
          throw new TransientError('REGISTRY_UNAVAILABLE', `${label}: ${fault.message}`, {
            cause: fault,
            details: { url: displayUrl },
          });
        }
        const body = response.data();
        const errorCode = (body as { error_code?: unknown } | undefined)?.error_code;
        const answer: ErrorAnswer = {
          status: response.status(),
          body,
          errorCode: typeof errorCode === 'number' ? errorCode : undefined,
          retryAfterMs: retryAfterMs(response.header('retry-after')),
        };
        const error = new PipelineError('REGISTRY_REJECTED', `${label}: HTTP ${answer.status}`, {
          details: { answer },
        });
        throw Object.assign(error, { status: answer.status });
      }),
  });
}

/** 408 and 429 are the registry (or a proxy in front of it) asking to come back later; 5xx a fault. */
function retryable(error: unknown): boolean {
  if (error instanceof TransientError) return true;
  const status = errorAnswerOf(error)?.status;
  return status !== undefined && (status >= 500 || status === 408 || status === 429);
}

interface CallState {
  controller: AbortController;
  started: number;
  attempts: number;
}

/** Per call, by the signal it put on the request (the request object changes as middlewares enhance it). */
const calls = new WeakMap<AbortSignal, CallState>();

function faultOf(error: unknown): string {
  const answer = errorAnswerOf(error);
  if (answer === undefined) return (error as Error).message;
  return `HTTP ${answer.status}${answer.errorCode ? ` (error_code ${answer.errorCode})` : ''}`;
}

/**
 * Outermost: one deadline for the whole call, and this instance's retries with exponential backoff or the
 * registry's Retry-After, never past the deadline.
 */
function deadlineAndRetries(timeoutMs: number, retries: number, displayUrl: string): Middleware {
  return () => ({
    async prepareRequest(next) {
      const request = await next();
      const controller = new AbortController();
      calls.set(controller.signal, { controller, started: Date.now(), attempts: 0 });
      return request.enhance({ signal: controller.signal });
    },
    async response(next, _renew, request) {
      const signal = request.signal();
      const call = signal && calls.get(signal);
      if (call === undefined) return next();
      const deadline = call.started + timeoutMs;
      const expired = new Promise<never>((_resolve, reject) => {
        call.controller.signal.addEventListener(
          'abort',
          () =>
            reject(
              new TransientError(
                'REGISTRY_UNAVAILABLE',
                `schema registry ${displayUrl}: no complete answer to ${request.method().toUpperCase()} ${request.path()} within ${timeoutMs} ms (${call.attempts} attempt(s))`,
                { details: { url: displayUrl, timeoutMs } },
              ),
            ),
          { once: true },
        );
      });
      expired.catch(() => undefined);
      const timer = setTimeout(() => call.controller.abort(), Math.max(0, deadline - Date.now()));
      try {
        for (;;) {
          call.attempts++;
          try {
            return await Promise.race([next(), expired]);
          } catch (error) {
            if (call.controller.signal.aborted) return await expired;
            if (!retryable(error)) throw error;
            const what = `${request.method().toUpperCase()} ${request.path()}`;
            if (call.attempts > retries) {
              throw new TransientError(
                'REGISTRY_UNAVAILABLE',
                `schema registry ${displayUrl} did not answer ${what} (${call.attempts} attempt(s)): ${faultOf(error)}`,
                { cause: error, details: { url: displayUrl, attempts: call.attempts } },
              );
            }
            const asked = errorAnswerOf(error)?.retryAfterMs;
            const wait = asked ?? 200 * 2 ** (call.attempts - 1);
            if (Date.now() + wait >= deadline) {
              throw new TransientError(
                'REGISTRY_UNAVAILABLE',
                asked === undefined
                  ? `schema registry ${displayUrl} did not answer ${what} within ${timeoutMs} ms (${call.attempts} attempt(s)): ${faultOf(error)}`
                  : `schema registry ${displayUrl} asked to retry ${what} after ${Math.ceil(asked / 1000)} s, past the call's ${timeoutMs} ms deadline: ${faultOf(error)}`,
                { cause: error, details: { url: displayUrl, retryAfterMs: asked } },
              );
            }
            await Promise.race([new Promise((resolve) => setTimeout(resolve, wait)), expired]);
          }
        }
      } finally {
        clearTimeout(timer);
        calls.delete(call.controller.signal);
      }
    },
  });
}

/** Replaces the library's error and (shared) retry middlewares on one API client; see the file comment. */
function ownMiddlewares(api: RegistryApi, keep: Middleware): void {
  const manifest = (api as unknown as { _manifest?: { middleware?: Middleware[] } })._manifest;
  const chain = manifest?.middleware;
  const names = chain?.map((m) => m.name) ?? [];
  // Named after their factories (the compiled retry one `RetryMiddleware2`); a test pins the lookup.
  const isRetry = (m: Middleware) => /^RetryMiddleware\d*$/.test(m.name);
  if (!chain || !names.includes('errorMiddleware') || chain.filter(isRetry).length !== 1) {
    throw new PipelineError(
      'INVARIANT_BROKEN',
      `@kafkajs/confluent-schema-registry's API client has not the middlewares this project replaces (found: ${names.join(', ')}); check the library version`,
    );
  }
  manifest!.middleware = chain
    .filter((m) => !isRetry(m))
    .map((m) => (m.name === 'errorMiddleware' ? keep : m));
}

// A CommonJS module compiled from `export default`: Node gives its `exports`, the factory is `default`.
const createApiClient = apiClientModule.default;

export class RegistryHttp {
  /** The URL without credentials, for messages. */
  readonly displayUrl: string;
  private readonly api: RegistryApi;
  private readonly agent: http.Agent;

  constructor(
    private readonly settings: RegistrySettings,
    options: RegistryHttpOptions = {},
  ) {
    const base = new URL(settings.url);
    const host = `${base.origin}${base.pathname.replace(/\/$/, '')}`;
    this.displayUrl = host;
    this.agent =
      base.protocol === 'https:'
        ? new https.Agent({
            keepAlive: true,
            rejectUnauthorized: true,
            ...(settings.ca ? { ca: settings.ca } : {}),
          })
        : new http.Agent({ keepAlive: true });
    // What `new SchemaRegistry(options).api` builds, with the same options.
    const api = createApiClient({
      host,
      clientId: 'schema-first-pipeline',
      agent: this.agent,
      ...(settings.auth ? { auth: settings.auth } : {}),
      // No `retry`: 3.9 merges it into a default shared by every instance in the process.
      middlewares: [deadlineAndRetries(options.timeoutMs ?? 10_000, options.retries ?? 2, this.displayUrl)],
    });
    this.api = api as unknown as RegistryApi;
    ownMiddlewares(this.api, keepErrorBody(this.displayUrl));
  }

  /**
   * Runs one call of the library's API client. A 2xx answer and any error answer the caller decides on
   * (404, 409, 422…) come back with status, body and `error_code`; 401/403 throw REGISTRY_REJECTED (the
   * password is never part of any message); faults, 5xx, 408 and 429 left after the retries, and the
   * deadline, throw TransientError REGISTRY_UNAVAILABLE (from deadlineAndRetries).
   */
  async call(label: string, run: (api: RegistryApi) => Promise<Response>): Promise<RegistryResponse> {
    let response: Response;
    try {
      response = await run(this.api);
    } catch (error) {
      const answer = errorAnswerOf(error);
      if (answer === undefined) {
        if (error instanceof PipelineError) throw error;
        throw new PipelineError('INVARIANT_BROKEN', `schema registry client: ${label}: ${String(error)}`, {
          cause: error,
        });
      }
      if (answer.status === 401 || answer.status === 403) throw this.authFailure(answer.status, label);
      return { status: answer.status, body: answer.body, errorCode: answer.errorCode };
    }
    return { status: response.status(), body: response.data(), errorCode: undefined };
  }

  /** Frees the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  private authFailure(status: number, label: string): PipelineError {
    const who = this.settings.auth
      ? `the credentials of user "${this.settings.auth.username}"`
      : 'an anonymous request (set SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD)';
    const what = status === 401 ? 'authentication failed for' : `${label} is forbidden for`;
    return new PipelineError(
      'REGISTRY_REJECTED',
      `schema registry ${this.displayUrl}: ${what} ${who} (HTTP ${status})`,
      { details: { status } },
    );
  }
}
