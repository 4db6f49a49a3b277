import { expect } from 'chai';
import { UserError } from '../../../src/common/errors.js';
import { MemoryKV } from '../../../src/datastore/memory.js';
import { DatastoreUrlError, datastoreUrlFromEnv, openKV, parseDatastoreUrl } from '../../../src/datastore/open.js';

describe('datastore URLs', function () {
  it('parses memory:, etcd:// and etcds:// with one or more endpoints', function () {
    expect(parseDatastoreUrl('memory:')).to.deep.equal({ kind: 'memory' });
    expect(parseDatastoreUrl('etcd://127.0.0.1:2379')).to.deep.equal({ kind: 'etcd', tls: false, endpoints: ['127.0.0.1:2379'] });
    expect(parseDatastoreUrl('etcds://a.example:1,b.example:2/')).to.deep.equal({ kind: 'etcd', tls: true, endpoints: ['a.example:1', 'b.example:2'] });
    expect(parseDatastoreUrl('etcd://[::1]:2380,localhost')).to.deep.equal({ kind: 'etcd', tls: false, endpoints: ['[::1]:2380', 'localhost:2379'] });
    expect(parseDatastoreUrl('ETCD://h:1').kind).to.equal('etcd');
  });

  it('parses etcd+unix:///ABS/PATH into one unix:// endpoint for the etcd client', function () {
    expect(parseDatastoreUrl('etcd+unix:///tmp/x/etcd.sock:1')).to.deep.equal({ kind: 'etcd', tls: false, endpoints: ['unix:///tmp/x/etcd.sock:1'] });
    expect(parseDatastoreUrl('ETCD+UNIX:///run/etcd.sock')).to.deep.equal({ kind: 'etcd', tls: false, endpoints: ['unix:///run/etcd.sock'] });
  });

  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['redis://h:1', /unknown scheme "redis:"/],
    ['127.0.0.1:2379', /not a URL/],
    ['etcd://', /no endpoint/],
    ['etcd://h:1,,h:2', /empty endpoint/],
    ['etcd://h:99999', /endpoint "h:99999": port "99999" is not a number from 1 to 65535/],
    ['etcd://h:port', /port "port"/],
    ['etcd://::1:2379', /IPv6 address in brackets/],
    ['etcd://h:1/tortie', /no path/],
    ['etcd://user@h:1', /no path, query or user/],
    ['etcd://h_x:1', /"h_x" is not a host/],
    ['etcd+unix://', /no socket path given/],
    ['etcd+unix://etcd.sock:1', /socket path "etcd.sock:1" is not absolute/],
    ['etcd+unix:///tmp/x/', /names a folder/],
    ['etcd+unix:///a.sock,/b.sock', /one path only/],
  ];
  for (const [url, problem] of bad) {
    it(`refuses ${JSON.stringify(url)} with one line naming it`, function () {
      let err: unknown;
      try {
        parseDatastoreUrl(url);
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(DatastoreUrlError);
      expect(err).to.be.instanceOf(UserError);
      expect((err as Error).message).to.contain(`datastore URL "${url}"`);
      expect((err as Error).message).to.match(problem);
      expect((err as Error).message).not.to.contain('\n');
    });
  }

  it('opens memory: as a MemoryKV', async function () {
    const kv = await openKV('memory:');
    expect(kv).to.be.instanceOf(MemoryKV);
    expect(kv.url).to.equal('memory:');
    await kv.put('/k', 'v');
    expect((await kv.get('/k'))?.value).to.equal('v');
    await kv.close();
  });

  it('refuses TLS files with a plain etcd:// URL, half a key pair, and a missing file', async function () {
    await expectUserError(openKV('etcd://127.0.0.1:1', { tls: { ca: '/x' } }), /use etcds:\/\//);
    await expectUserError(openKV('etcds://127.0.0.1:1', { tls: { cert: '/x' } }), /give both or neither/);
    await expectUserError(openKV('etcds://127.0.0.1:1', { tls: { ca: '/nonexistent/ca.pem' } }), /CA file "\/nonexistent\/ca.pem": no such file/);
  });

  it('reads TORTIE_DATASTORE', function () {
    expect(datastoreUrlFromEnv({ TORTIE_DATASTORE: ' etcd://h:1 ' })).to.equal('etcd://h:1');
    expect(datastoreUrlFromEnv({ TORTIE_DATASTORE: '' })).to.equal(undefined);
    expect(datastoreUrlFromEnv({})).to.equal(undefined);
  });
});

async function expectUserError(promise: Promise<unknown>, message: RegExp): Promise<void> {
  const err = await promise.then(
    () => new Error('expected a failure'),
    (e: unknown) => e,
  );
  expect(err).to.be.instanceOf(UserError);
  expect((err as Error).message).to.match(message);
}
