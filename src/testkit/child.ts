import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Child {
  proc: ChildProcess;
  /** Complete stdout lines received so far (a line cut by a kill is not included). */
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Runs a TypeScript script in its own Node process under tsx (crash tests kill it with SIGKILL), collecting its
 * stdout lines; stderr goes to the test's stderr.
 */
export function spawnTsx(script: string, args: readonly string[], opts: { cwd?: string; stdin?: 'pipe' | 'ignore'; env?: NodeJS.ProcessEnv } = {}): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    ...(opts.env ? { env: opts.env } : {}),
    stdio: [opts.stdin ?? 'ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  let partial = '';
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    for (const l of parts) lines.push(l);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return { proc, lines, exited };
}

export async function waitUntil(what: string, ok: () => boolean | Promise<boolean>, maxMs: number): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${maxMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Kills a child that is still running (SIGKILL) and waits for it. */
export async function killChild(child: Child): Promise<void> {
  if (child.proc.exitCode === null && child.proc.signalCode === null) {
    child.proc.kill('SIGKILL');
    await child.exited;
  }
}
