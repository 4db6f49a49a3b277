import { expect } from 'chai';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../../src/common/errors.js';
import { callControl, serveControl } from '../../../src/common/control-socket.js';

describe('control socket', () => {
  let dir: string;
  const servers: Server[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tortie-ctl-'));
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
    rmSync(dir, { recursive: true, force: true });
  });

  it('is created readable and writable by its owner only, and answers JSON calls', async () => {
    const path = join(dir, 'sub', 'ctl.sock');
    servers.push(await serveControl(path, { 'GET /echo': (_b, q) => ({ said: q.get('x') }) }));
    expect(statSync(path).mode & 0o777).to.equal(0o600);
    expect(await callControl(path, 'GET', '/echo?x=hi')).to.deep.equal({ said: 'hi' });
  });

  it('passes a request body and turns a UserError into a one-line error for the caller', async () => {
    const path = join(dir, 'ctl.sock');
    servers.push(
      await serveControl(path, {
        'POST /announce': (body) => {
          const prefix = (body as { prefix?: string }).prefix;
          if (prefix === 'bad') throw new UserError('prefix "bad" is not a prefix');
          return { announced: prefix };
        },
      }),
    );
    expect(await callControl(path, 'POST', '/announce', { prefix: '10.0.0.0/8' })).to.deep.equal({ announced: '10.0.0.0/8' });
    let caught: unknown;
    await callControl(path, 'POST', '/announce', { prefix: 'bad' }).catch((e: unknown) => (caught = e));
    expect(caught).to.be.instanceOf(UserError);
    expect((caught as Error).message).to.equal('prefix "bad" is not a prefix');
    await callControl(path, 'GET', '/nope').catch((e: unknown) => (caught = e));
    expect((caught as Error).message).to.match(/no such control call: GET \/nope/);
  });

  it('replaces a stale socket file but refuses one a live daemon holds', async () => {
    const stale = join(dir, 'stale.sock');
    writeFileSync(stale, '');
    servers.push(await serveControl(stale, { 'GET /ok': () => ({ ok: 1 }) }));
    expect(await callControl(stale, 'GET', '/ok')).to.deep.equal({ ok: 1 });

    const live = join(dir, 'live.sock');
    const other = createServer();
    await new Promise<void>((r) => other.listen(live, r));
    servers.push(other);
    let caught: unknown;
    await serveControl(live, {}).catch((e: unknown) => (caught = e));
    expect((caught as Error).message).to.match(/in use by a running daemon/);
  });

  it('says plainly when no daemon is there', async () => {
    let caught: unknown;
    await callControl(join(dir, 'none.sock'), 'GET', '/peers').catch((e: unknown) => (caught = e));
    expect((caught as Error).message).to.match(/none\.sock: no such socket \(is the daemon running\?\)/);
  });
});
