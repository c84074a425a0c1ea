import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../../src/testkit/index.ts';

export const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/dronewatch.js');

export interface CliResult {
  code: number | null;
  /** The signal that ended the process (code is then null): a crash (SIGSEGV, SIGABRT) or the timeout's SIGKILL. */
  signal?: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

let scratchData: string | undefined;

/**
 * The child's environment. A run that names no data directory (no `--data`, no `--config`, no DRONEWATCH_DATA) gets
 * one temporary directory shared by the test file's runs instead of the default `./data`: tests must not write the
 * checkout's data directory (a developer's platform data), nor share it with test files running at the same time.
 */
function childEnv(args: string[], env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const merged = { ...process.env, ...env };
  const named = args.some((a) => /^(-d|--data|-c|--config)(=|$)/.test(a)) || merged.DRONEWATCH_DATA !== undefined;
  if (named) return merged;
  if (scratchData === undefined) {
    const tmp = tempDir('dw-cli-data-');
    process.once('exit', tmp.cleanup);
    scratchData = tmp.dir;
  }
  return { ...merged, DRONEWATCH_DATA: scratchData };
}

/** Runs the real CLI in a child process, as a user would. */
export function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: childEnv(args, opts.env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Starts a long-running CLI command; `waitFor` resolves when stdout matches. */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): {
  child: ChildProcessWithoutNullStreams;
  output: () => string;
  waitFor: (re: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>;
  stop: () => Promise<number | null>;
} {
  const child = spawn(process.execPath, [BIN, ...args], { env: childEnv(args, env) });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    waitFor: async (re, timeoutMs = 30_000) => {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const m = out.match(re);
        if (m) return m;
        if (Date.now() > end || child.exitCode !== null) throw new Error(`timed out waiting for ${re}; stdout:\n${out}\nstderr:\n${err.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
