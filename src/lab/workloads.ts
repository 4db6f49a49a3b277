/**
 * The workloads a lab declares, in a file beside the topology: FILE.clab.yml ->
 * FILE.workloads.yaml (containerlab has no such notion; with Docker, the same workloads are
 * `tortie workload add` commands run in the host containers, as each lab's README shows).
 *
 *   workloads:
 *     - name: web-1
 *       node: host1            # a tortie host of the topology
 *       labels: { app: web }
 */
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { TopologyError, type Topology } from './topology.js';

export interface WorkloadSpec {
  name: string;
  node: string;
  labels: Record<string, string>;
}

export function workloadsFile(topologyFile: string): string {
  return topologyFile.replace(/(\.clab)?\.ya?ml$/, '') + '.workloads.yaml';
}

export function readWorkloads(topo: Topology): WorkloadSpec[] {
  const file = workloadsFile(topo.file);
  if (!existsSync(file)) return [];
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new TopologyError(`${file}: not YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const list = (doc as { workloads?: unknown } | null)?.workloads;
  if (!Array.isArray(list)) throw new TopologyError(`${file}: expected "workloads:" with a list`);
  const seen = new Set<string>();
  return list.map((w: unknown, i) => {
    const where = `${file}: workloads[${i}]`;
    const o = (w ?? {}) as { name?: unknown; node?: unknown; labels?: unknown };
    if (typeof o.name !== 'string' || !/^[a-z0-9]([a-z0-9-]{0,22}[a-z0-9])?$/.test(o.name)) throw new TopologyError(`${where}: name: 1-24 lower-case letters, digits and '-'`);
    if (seen.has(o.name)) throw new TopologyError(`${where}: name ${o.name} is used twice`);
    seen.add(o.name);
    const node = topo.nodes.find((n) => n.name === o.node);
    if (!node) throw new TopologyError(`${where} (${o.name}): node: no node "${String(o.node)}" in ${topo.file}`);
    if (node.role !== 'host') throw new TopologyError(`${where} (${o.name}): node ${node.name} is not a tortie host (role ${node.role})`);
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries((o.labels ?? {}) as Record<string, unknown>)) labels[k] = String(v);
    return { name: o.name, node: node.name, labels };
  });
}
