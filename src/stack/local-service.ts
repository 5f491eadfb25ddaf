/** What the stack needs of each service it runs. */
export interface LocalService {
  /** Short name used in pid and log file names and in messages. */
  readonly name: 'kafka' | 'registry' | 'postgres';
  /** Human name for messages. */
  readonly title: string;
  /** Ports it binds, with the variable that moves each. */
  readonly ports: ReadonlyArray<{ port: number; variable: string }>;
  readonly logFile: string;
  readonly pidFile: string;
  /** Signal that starts a clean shutdown. */
  readonly stopSignal: NodeJS.Signals;
  /** Prepare (fetch, format, initdb) and spawn the detached process. */
  start(log: (line: string) => void): Promise<void>;
  /** One readiness request. */
  ready(): Promise<boolean>;
  /** Connection settings the service offers, written to stack.env. */
  connection(): Record<string, string>;
  /** With STACK_SECURE=true: how to reach its TLS endpoints, written to stack-secure.env. */
  secureConnection?(): Record<string, string>;
}
