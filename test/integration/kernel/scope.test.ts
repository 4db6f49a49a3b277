import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNetns, deleteNetns, netnsExists, netnsPath, NetnsScope, netnsWithPrefix, spawnInNetns } from '../../../src/kernel/index.js';
import { UserError } from '../../../src/common/errors.js';
import { useNetnsScope } from '../../helpers/netns.js';
import { waitFor } from '../../helpers/wait.js';

/** Alive and not a zombie (a reparented child may linger as one until init reaps it). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Interface names as /proc/PID/net/dev lists them: what that process's namespace holds. */
function linksSeenBy(pid: number): string[] {
  return readFileSync(`/proc/${pid}/net/dev`, 'utf8')
    .split('\n')
    .slice(2)
    .map((l) => l.split(':')[0]!.trim())
    .filter((n) => n !== '')
    .sort();
}

describe('kernel: long-lived processes in a namespace', function () {
  this.timeout(20_000);
  const scope = useNetnsScope();

  it('runs in that network namespace only, sharing our mount namespace', async () => {
    const a = await scope().netns('pa');
    const b = await scope().netns('pb');
    await scope().veth({ netns: a, name: 'only-in-a' }, { netns: b, name: 'only-in-b' });
    const proc = await scope().spawn(a, 'sleep', ['60']);
    // nsenter execs the command: the pid we hold is sleep's own.
    await waitFor(() => readFileSync(`/proc/${proc.pid}/comm`, 'utf8').trim() === 'sleep', { what: 'sleep to exec' });
    expect(readlinkSync(`/proc/${proc.pid}/ns/net`)).to.equal(`net:[${statSync(netnsPath(a)).ino}]`);
    expect(readlinkSync(`/proc/${proc.pid}/ns/mnt`)).to.equal(readlinkSync('/proc/self/ns/mnt'));
    expect(linksSeenBy(proc.pid)).to.deep.equal(['lo', 'only-in-a']);
    expect(linksSeenBy(process.pid)).not.to.include('only-in-a');

    expect(await proc.stop()).to.deep.equal({ code: null, signal: 'SIGTERM' });
    expect(alive(proc.pid)).to.equal(false);
    expect(await proc.stop()).to.deep.equal({ code: null, signal: 'SIGTERM' }); // twice is fine
  });

  it('kills a process that ignores SIGTERM once the grace time is over', async () => {
    const a = await scope().netns('pk');
    const proc = await scope().spawn(a, 'sh', ['-c', 'trap "" TERM; exec sleep 60']);
    await waitFor(() => readFileSync(`/proc/${proc.pid}/comm`, 'utf8').trim() === 'sleep', { what: 'the trap to be set' });
    expect(await proc.stop(200)).to.deep.equal({ code: null, signal: 'SIGKILL' });
  });

  it('captures output in memory or in a log file', async () => {
    const a = await scope().netns('po');
    const proc = await scope().spawn(a, 'sh', ['-c', 'echo to-stdout; echo to-stderr >&2; exit 4']);
    expect(await proc.exited).to.deep.equal({ code: 4, signal: null });
    await waitFor(() => proc.output().includes('to-stderr') && proc.output().includes('to-stdout'), {
      what: 'both streams in the output',
    });

    const dir = mkdtempSync(join(tmpdir(), 'tortie-kernel-'));
    try {
      const logFile = join(dir, 'daemon.log');
      const logged = await scope().spawn(a, 'sh', ['-c', 'echo into-the-file; ip -o link show'], { logFile });
      expect((await logged.exited).code).to.equal(0);
      expect(readFileSync(logFile, 'utf8')).to.contain('into-the-file').and.contain('lo:');
      expect(logged.output()).to.contain('into-the-file');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails with one line for a namespace that does not exist', async () => {
    const err = await scope()
      .spawn('no-such-netns', 'sleep', ['1'])
      .catch((e: unknown) => e);
    expect(err).to.be.instanceOf(UserError);
    expect((err as Error).message).to.contain('netns no-such-netns was not made by netns scope');
    const direct = await spawnInNetns('no-such-netns', 'sleep', ['1']).catch((e: unknown) => e);
    expect(direct).to.be.instanceOf(UserError);
    expect((direct as Error).message).to.equal('cannot start sleep in netns no-such-netns: no such network namespace');
  });
});

describe('kernel: NetnsScope cleanup', function () {
  this.timeout(20_000);

  it('removes what the scope made, and only that', async () => {
    const scope = new NetnsScope();
    // Same leading characters as the scope's names, but not its "<prefix>-": a stranger.
    const stranger = `${scope.prefix}x-keep`;
    await createNetns(stranger);
    try {
      const a = await scope.netns('a');
      const b = await scope.netns('b');
      await scope.veth({ netns: a, name: 'e0' }, { netns: b, name: 'e0' });
      const proc = await scope.spawn(b, 'sleep', ['60']);
      expect(scope.netnsNames).to.deep.equal([a, b]);
      expect(netnsWithPrefix(scope.prefix).sort()).to.deep.equal([a, b]);

      // The scope refuses to touch the stranger.
      for (const attempt of [
        () => scope.veth({ netns: a, name: 'e1' }, { netns: stranger, name: 'e1' }),
        () => scope.bridge(stranger, 'br0'),
        () => scope.spawn(stranger, 'sleep', ['1']),
        () => scope.removeNetns(stranger),
      ]) {
        const err = await attempt().catch((e: unknown) => e);
        expect((err as Error).message).to.contain(`netns ${stranger} was not made by netns scope ${scope.prefix}`);
      }

      await scope.cleanup();
      expect(netnsExists(a)).to.equal(false);
      expect(netnsExists(b)).to.equal(false);
      expect(proc.exit).to.deep.equal({ code: null, signal: 'SIGTERM' });
      expect(netnsExists(stranger)).to.equal(true);
      await scope.cleanup(); // a second call does nothing
      const late = await scope.netns('c').catch((e: unknown) => e);
      expect((late as Error).message).to.contain('already cleaned up');
    } finally {
      await deleteNetns(stranger);
    }
  });

  it('removes one namespace early with removeNetns, stopping its processes first', async () => {
    const scope = new NetnsScope();
    try {
      const a = await scope.netns('early');
      const proc = await scope.spawn(a, 'sleep', ['60']);
      await scope.removeNetns(a);
      expect(netnsExists(a)).to.equal(false);
      expect(proc.exit?.signal).to.equal('SIGTERM');
      expect(scope.netnsNames).to.deep.equal([]);
    } finally {
      await scope.cleanup();
    }
  });

  it('takes a chosen prefix, and rejects one that could clash', async () => {
    expect(() => new NetnsScope({ prefix: 'Bad-Prefix' })).to.throw(UserError, 'netns scope prefix "Bad-Prefix"');
    const lab = new NetnsScope({ prefix: 'lab1' });
    expect(lab.name('r1')).to.equal('lab1-r1');
    await lab.cleanup();
  });
});

describe('kernel: NetnsScope cleanup when the process is cut short', function () {
  this.timeout(30_000);
  const fixture = fileURLToPath(new URL('./fixtures/scope-child.ts', import.meta.url));
  const register = fileURLToPath(new URL('../../register.mjs', import.meta.url));

  /** Starts the fixture and resolves with what it made, and how it ended. */
  async function startChild(mode: 'wait' | 'exit' | 'throw') {
    const child = spawn(process.execPath, ['--no-warnings', '--import', register, fixture, mode], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TORTIE_LOG_FORMAT: 'json' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const made = await waitFor(
      () => {
        const line = stdout.split('\n').find((l) => l.startsWith('{'));
        if (!line && child.exitCode !== null) throw new Error(`fixture exited early: ${stderr.trim()}`);
        return line ? (JSON.parse(line) as { prefix: string; netns: string; pid: number }) : null;
      },
      { what: 'the fixture to make its scope', timeoutMs: 15_000 },
    );
    return { child, made, ended, stderr: () => stderr };
  }

  it('on SIGINT: deletes the namespace, kills the process, and dies of SIGINT', async () => {
    const { child, made, ended } = await startChild('wait');
    try {
      expect(netnsExists(made.netns)).to.equal(true);
      expect(alive(made.pid)).to.equal(true);
      child.kill('SIGINT');
      expect(await ended).to.deep.equal({ code: null, signal: 'SIGINT' });
      await waitFor(() => !netnsExists(made.netns), { what: `${made.netns} to be deleted` });
      await waitFor(() => !alive(made.pid), { what: `sleep ${made.pid} to die` });
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (existsSync(netnsPath(made.netns))) await deleteNetns(made.netns);
    }
  });

  it('on SIGTERM too', async () => {
    const { child, made, ended } = await startChild('wait');
    try {
      child.kill('SIGTERM');
      expect(await ended).to.deep.equal({ code: null, signal: 'SIGTERM' });
      expect(netnsExists(made.netns)).to.equal(false);
    } finally {
      if (existsSync(netnsPath(made.netns))) await deleteNetns(made.netns);
    }
  });

  it('on process.exit() and on an uncaught exception, keeping the exit status', async () => {
    for (const [mode, code] of [
      ['exit', 3],
      ['throw', 1],
    ] as const) {
      const { made, ended, stderr } = await startChild(mode);
      try {
        expect(await ended, mode).to.deep.equal({ code, signal: null });
        expect(netnsExists(made.netns), mode).to.equal(false);
        await waitFor(() => !alive(made.pid), { what: `sleep ${made.pid} to die (${mode})` });
        if (mode === 'throw') expect(stderr()).to.contain('boom');
      } finally {
        if (existsSync(netnsPath(made.netns))) await deleteNetns(made.netns);
      }
    }
  });
});
