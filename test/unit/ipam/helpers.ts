/** Shared set-up for IPAM unit tests: a MemoryKV that counts transactions, and a config. */
import { MemoryKV } from '../../../src/datastore/memory.js';
import type { TxnOp, TxnResult } from '../../../src/datastore/kv.js';
import { StaticConfigSource } from '../../../src/ipam/config.js';
import type { IpPoolInfo } from '../../../src/ipam/config.js';
import { Ipam } from '../../../src/ipam/ipam.js';

export class CountingKV extends MemoryKV {
  txns = 0;
  override async txn(ops: TxnOp[]): Promise<TxnResult> {
    this.txns++;
    return super.txn(ops);
  }
}

export class TestClock {
  constructor(public ms = 1_000_000) {}
  now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

export function pool(name: string, cidr: string, blockSize: number, extra: Partial<IpPoolInfo> = {}): IpPoolInfo {
  return { name, cidr, blockSize, ...extra };
}

export function setup(pools: IpPoolInfo[], settings: { strictAffinity?: boolean; maxBlocksPerHost?: number } = {}) {
  const kv = new CountingKV();
  const source = new StaticConfigSource({ pools, settings, anyNodeExists: true });
  const clock = new TestClock();
  const make = () => new Ipam(kv, source, { clock: clock.now, configTtlMs: 0, emptyBlockGraceMs: 60_000 });
  return { kv, source, clock, ipam: make(), make };
}
