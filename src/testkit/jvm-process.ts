/**
 * One JVM daemon of a test cluster (a Kafka node, an HDFS NameNode or DataNode): spawned in its own process group with
 * its output appended to a log file, killed as a group, and never outliving the test process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

export class JvmProcess {
  private proc: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private spawnError: Error | undefined;
  /** Log size when the current process started: readiness looks only at what it wrote. */
  private logOffset = 0;

  constructor(private readonly java: string, private readonly args: readonly string[], readonly logFile: string) {}

  running(): boolean {
    return this.proc !== undefined && this.spawnError === undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  pid(): number | undefined {
    return this.running() ? this.proc!.pid : undefined;
  }

  spawn(): void {
    installExitHook();
    this.logOffset = existsSync(this.logFile) ? statSync(this.logFile).size : 0;
    // setpriv --pdeathsig: the kernel SIGKILLs the JVM when the spawning thread dies, even by SIGKILL or a test-runner
    // timeout, when no exit hook runs (so clusters must not be started from a worker thread that ends first).
    // detached: its own process group, so kill() reaches everything it started.
    const [cmd, argv] = SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', '--', this.java, ...this.args]] : [this.java, [...this.args]];
    const fd = openSync(this.logFile, 'a');
    const proc = spawn(cmd, argv, { stdio: ['ignore', fd, fd], detached: true });
    closeSync(fd);
    this.proc = proc;
    this.spawnError = undefined;
    this.exited = new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      // A JVM that cannot be spawned emits 'error' and no 'exit'.
      proc.once('error', (e) => { this.spawnError = e; liveProcesses.delete(proc); resolve(); });
    });
    liveProcesses.add(proc);
    proc.once('exit', () => liveProcesses.delete(proc));
  }

  /** Sends a signal to the process group (default SIGKILL: a crash) and waits for the JVM to exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.running()) return;
    killGroup(this.proc!, signal);
    await this.exited;
  }

  /** Why it is not running: `could not be started (...)` or `fallback` (it exited). */
  notRunningReason(fallback: string): string {
    return this.spawnError ? `could not be started (${this.spawnError.message})` : fallback;
  }

  logSinceStart(): string {
    try {
      return readFileSync(this.logFile).subarray(this.logOffset).toString('utf8');
    } catch {
      return '';
    }
  }

  /** The last lines of its log. */
  tail(lines = 30): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
}

/** Removes the directory if the test process exits before the cluster's stop() does. */
export function removeAtExit(dir: string): void {
  installExitHook();
  liveDirs.add(dir);
}

export function keepAtExit(dir: string): void {
  liveDirs.delete(dir);
}

function killGroup(proc: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-proc.pid!, signal);
  } catch {
    try { proc.kill(signal); } catch { /* already gone */ }
  }
}

/** JVMs still running and their temp dirs: killed and removed if the test process exits without cleaning up. */
const liveProcesses = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const p of liveProcesses) killGroup(p, 'SIGKILL');
    for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
  });
}
