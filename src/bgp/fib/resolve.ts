/**
 * Next-hop resolution: what the kernel should be told for a BGP next hop.
 *
 * The kernel accepts `via G` only if G is on-link (covered by a connected or scope-link
 * route); a gateway reachable only through another gateway ("recursive", iBGP and eBGP
 * multihop) is refused with "Nexthop has invalid gateway". So, like zebra, we look the
 * next hop up in the namespace's FIB (`ip route get fibmatch G`, one `ip -batch` for all
 * next hops not known yet) and install:
 *   - on-link G:            via G (the kernel picks the interface);
 *   - G behind gateway(s):  via each of that route's gateways, on its interface;
 *   - no route, or a local, blackhole or unreachable route, or (unless allowed) only the
 *     default route: unresolved; the caller reports the prefix and tries again later.
 * A next hop given with an interface is taken as on-link and not looked up.
 */
import { spawn } from 'node:child_process';
import { canonicalAddress } from './addr.js';
import type { NextHop } from './route.js';

export type Resolution = { ok: true; hops: NextHop[] } | { ok: false; why: string };

export interface ResolverOptions {
  netns?: string;
  /** Accept a next hop that only the default route covers (zebra: `ip nht resolve-via-default`). Default false. */
  viaDefault?: boolean;
  ip?: string;
}

interface FibMatch {
  type?: string;
  dst?: string;
  gateway?: string;
  dev?: string;
  via?: { family?: string; host?: string };
  nexthops?: { gateway?: string; dev?: string; weight?: number; via?: { host?: string } }[];
}

/** Runs `ip -j -force -batch -` once and returns stdout, stderr. */
function ipOnce(args: string[], input: string, ip: string): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const p = spawn(ip, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ stdout, stderr, code }));
    p.stdin.on('error', () => undefined);
    p.stdin.end(input);
  });
}

export class NextHopResolver {
  private cache = new Map<string, Resolution>();

  constructor(private readonly options: ResolverOptions = {}) {}

  /** Forget every answer (at each reconcile: the IGP may have moved). */
  clear(): void {
    this.cache.clear();
  }

  /** Forget what was learned about these gateways. */
  forget(gateways: Iterable<string>): void {
    for (const g of gateways) this.cache.delete(g);
  }

  /** A cached answer for a gateway, if there is one. */
  peek(gateway: string): Resolution | undefined {
    return this.cache.get(gateway);
  }

  /** Looks up every gateway not in the cache, in one `ip` process. */
  async lookup(gateways: Iterable<string>): Promise<void> {
    const todo = [...new Set(gateways)].filter((g) => !this.cache.has(g));
    if (todo.length === 0) return;
    const args = [...(this.options.netns === undefined ? [] : ['-n', this.options.netns]), '-j', '-force', '-batch', '-'];
    const input = todo.map((g) => `route get fibmatch ${g}\n`).join('');
    const { stdout, stderr } = await ipOnce(args, input, this.options.ip ?? 'ip');
    // Failed lines print nothing on stdout: the outputs belong to the other lines, in order.
    const failed = new Map<number, string>();
    let text: string[] = [];
    for (const l of stderr.split('\n')) {
      const m = /^Command failed -:(\d+)$/.exec(l);
      if (m === null) {
        if (l.trim() !== '') text.push(l.trim());
        continue;
      }
      failed.set(Number(m[1]) - 1, text.join('; ').replace(/^RTNETLINK answers: /, ''));
      text = [];
    }
    const outputs = stdout.split('\n').filter((l) => l.trim() !== '');
    let k = 0;
    for (let i = 0; i < todo.length; i++) {
      const g = todo[i]!;
      if (failed.has(i)) {
        this.cache.set(g, { ok: false, why: `next hop ${g}: no route (${failed.get(i) || 'lookup failed'})` });
        continue;
      }
      const out = outputs[k++];
      let parsed: FibMatch | undefined;
      try {
        parsed = out === undefined ? undefined : (JSON.parse(out) as FibMatch[])[0];
      } catch {
        parsed = undefined;
      }
      this.cache.set(g, parsed === undefined ? { ok: false, why: `next hop ${g}: lookup gave no answer` } : this.judge(g, parsed));
    }
  }

  private judge(g: string, m: FibMatch): Resolution {
    const type = m.type ?? 'unicast';
    if (type !== 'unicast') return { ok: false, why: `next hop ${g}: covered by a ${type} route${m.dst ? ` (${m.dst})` : ''}` };
    if (m.dst === 'default' && !this.options.viaDefault) return { ok: false, why: `next hop ${g}: only the default route covers it` };
    const hops: NextHop[] = [];
    const add = (via: string | undefined, dev: string | undefined, weight: number | undefined): void => {
      const a = via === undefined ? null : canonicalAddress(via);
      if (a === null) return;
      const h: NextHop = { via: a.address };
      if (dev !== undefined) h.dev = dev;
      if (weight !== undefined && weight !== 1) h.weight = weight;
      hops.push(h);
    };
    if (m.nexthops !== undefined && m.nexthops.length > 0) {
      for (const n of m.nexthops) add(n.gateway ?? n.via?.host, n.dev, n.weight);
    } else if (m.gateway !== undefined || m.via?.host !== undefined) {
      add(m.gateway ?? m.via?.host, m.dev, undefined);
    } else {
      // Directly connected: the kernel accepts G itself.
      return { ok: true, hops: [{ via: g }] };
    }
    if (hops.length === 0) return { ok: false, why: `next hop ${g}: the covering route ${m.dst ?? ''} has no usable gateway` };
    return { ok: true, hops };
  }
}
