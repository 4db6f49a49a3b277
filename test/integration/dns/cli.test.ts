import { expect } from 'chai';
import { createServer, type Server } from 'node:net';
import { tortie } from '../../helpers/cli.js';

describe('tortie dns: command line', function () {
  this.timeout(30_000);

  it('usage errors exit 2 with one line naming the option', async function () {
    const bad = await tortie(['dns', '--datastore', 'memory:', '--listen', 'nowhere']);
    expect(bad.exitCode).to.equal(2);
    expect(bad.stderr).to.match(/--listen: "nowhere" is not ADDRESS\[:PORT\]/);
    const ttl = await tortie(['dns', '--datastore', 'memory:', '--ttl', '-1']);
    expect(ttl.exitCode).to.equal(2);
    const domain = await tortie(['dns', '--datastore', 'memory:', '--listen', '127.0.0.1:0', '--domain', 'bad_zone']);
    expect(domain.exitCode).to.equal(2);
    expect(domain.stderr).to.match(/--domain: "bad_zone" is not a domain name/);
  });

  it('a port already taken (TCP) exits 1 naming the address', async function () {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', () => resolve()));
    const port = (taken.address() as { port: number }).port;
    try {
      const r = await tortie(['dns', '--datastore', 'memory:', '--listen', `127.0.0.1:${port}`]);
      expect(r.exitCode).to.equal(1);
      expect(r.stderr).to.include(`cannot listen on 127.0.0.1:${port}: EADDRINUSE`);
    } finally {
      taken.close();
    }
  });
});
