/**
 * Consumer group members as separate OS processes (`node bin/pipeline.js consume`), as an operator runs
 * them. A member that exits without having been signalled is recorded: members must never exit on their own.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../src/config.ts';

/** The consumer's start line, as plain text or inside a JSON log line (LOG_FORMAT=json when piped). */
const CONSUMING = /(^|"msg":")consuming /m;

export interface Member {
  name: string;
  child: ChildProcess;
  /** Exit code, or the signal's name. */
  exited: Promise<number | string>;
  isRunning(): boolean;
  output(): string;
  /** Resolves true once the member passed the start-up gate and runs its consumer (false: exited, or deadline). */
  started(timeoutMs: number): Promise<boolean>;
  /** Sends SIGTERM and resolves with the exit code, or 'timeout' (then the member is SIGKILLed). */
  terminate(boundMs: number): Promise<number | string>;
  kill(): Promise<number | string>;
}

export class Members {
  readonly #env: NodeJS.ProcessEnv;
  readonly #all: Member[] = [];
  readonly unexpectedExits: string[] = [];
  #count = 0;

  constructor(env: NodeJS.ProcessEnv) {
    this.#env = env;
  }

  running(): Member[] {
    return this.#all.filter((m) => m.isRunning());
  }

  spawn(): Member {
    const name = `member-${++this.#count}`;
    const child = spawn(
      process.execPath,
      [join(projectRoot, 'bin', 'pipeline.js'), 'consume', '--progress-seconds', '0'],
      {
        env: this.#env,
        cwd: projectRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let text = '';
    const keep = (chunk: Buffer) => {
      text = (text + chunk.toString()).slice(-6000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    let signalled = false;
    let running = true;
    const exited = new Promise<number | string>((resolve) => {
      child.once('exit', (code, signal) => {
        running = false;
        const result = (code ?? signal) as number | string;
        if (!signalled) {
          const tail = text.trim().split('\n').slice(-8).join(' ⏎ ');
          const phase = CONSUMING.test(text) ? 'while consuming' : 'before it started consuming';
          this.unexpectedExits.push(`${name} exited on its own ${phase} (${result}): ${tail}`);
        }
        resolve(result);
      });
    });
    const member: Member = {
      name,
      child,
      exited,
      isRunning: () => running,
      output: () => text,
      async started(timeoutMs) {
        const deadline = Date.now() + timeoutMs;
        while (running && Date.now() < deadline) {
          if (CONSUMING.test(text)) return true;
          await new Promise((r) => setTimeout(r, 50));
        }
        return CONSUMING.test(text);
      },
      async terminate(boundMs) {
        if (!running) return exited;
        signalled = true;
        child.kill('SIGTERM');
        const timer = new Promise<'timeout'>((resolve) =>
          setTimeout(() => resolve('timeout'), boundMs).unref(),
        );
        const result = await Promise.race([exited, timer]);
        if (result === 'timeout') {
          child.kill('SIGKILL');
          await exited;
        }
        return result;
      },
      async kill() {
        if (!running) return exited;
        signalled = true;
        child.kill('SIGKILL');
        return exited;
      },
    };
    this.#all.push(member);
    return member;
  }

  /** SIGKILLs whatever is left (the end of a scenario that already failed). */
  async killAll(): Promise<void> {
    await Promise.all(this.running().map((m) => m.kill()));
  }
}
