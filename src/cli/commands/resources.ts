/**
 * calicoctl's resource verbs: apply, create, replace and delete from files (-f FILE or -),
 * get KIND [NAME] with tables, YAML or JSON, and delete KIND NAME.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { UsageError, UserError } from '../../common/errors.js';
import { describeIdentity, ResourceError } from '../../datastore/resources/errors.js';
import { parseDocuments, type SourceDocument } from '../../datastore/resources/documents.js';
import { DEFAULT_NAMESPACE, resolveKind, UnknownKindError, type KindInfo } from '../../datastore/resources/kinds.js';
import type { ResourceStore, WriteVerb } from '../../datastore/resources/store.js';
import { Ipam, ResourceConfigSource } from '../../ipam/index.js';
import { API_VERSION, type AnyResource, type Rule } from '../../datastore/resources/types.js';
import { addDatastoreOptions, examples, outputOption, renderTable, toJson, toYaml, withResourceStore, type OutputFormat } from './common.js';

const PAST: Record<WriteVerb, string> = { apply: 'applied', create: 'created', replace: 'replaced', delete: 'deleted' };

export function registerResourceCommands(program: Command): void {
  addDatastoreOptions(program);
  for (const verb of ['apply', 'create', 'replace'] as const) registerFileVerb(program, verb);
  registerDelete(program);
  registerGet(program);
}

function registerFileVerb(program: Command, verb: 'apply' | 'create' | 'replace'): void {
  const what = {
    apply: 'create or update resources from a file',
    create: 'create resources from a file (fails if one exists)',
    replace: 'replace existing resources from a file (fails if one does not exist)',
  }[verb];
  const cmd = program
    .command(verb)
    .description(`${what}; all of the file's resources are written, or none`)
    .requiredOption('-f, --filename <file>', 'YAML or JSON file of resources, or - for stdin')
    .option('-n, --namespace <ns>', 'namespace for namespaced resources that name none', DEFAULT_NAMESPACE);
  if (verb === 'create') cmd.option('--skip-exists', 'leave resources that exist already as they are, instead of failing');
  cmd.action(async (opts: { filename: string; namespace: string; skipExists?: boolean }, command: Command) => {
    await writeFromFile(command, verb, opts.filename, { defaultNamespace: opts.namespace, skipExists: opts.skipExists });
  });
  examples(cmd, [`tortie ${verb} -f pools.yaml`, `cat policy.yaml | tortie ${verb} -f -`, `tortie --datastore etcd://10.0.0.1:2379 ${verb} -f bgp.yaml`]);
}

function registerDelete(program: Command): void {
  const cmd = program
    .command('delete')
    .description('delete resources named in a file, or one resource by kind and name')
    .argument('[kind]', 'kind of resource (ippool, bgppeer, gnp, ...)')
    .argument('[name]', 'name of the resource')
    .option('-f, --filename <file>', 'YAML or JSON file naming the resources, or - for stdin')
    .option('-n, --namespace <ns>', 'namespace (namespaced kinds)', DEFAULT_NAMESPACE)
    .option('--skip-not-exists', 'do not fail for a resource that does not exist')
    .action(async (kind: string | undefined, name: string | undefined, opts: { filename?: string; namespace: string; skipNotExists?: boolean }, command: Command) => {
      const options = { defaultNamespace: opts.namespace, skipNotExists: opts.skipNotExists };
      if (opts.filename !== undefined) {
        if (kind !== undefined) throw new UsageError('delete: give either -f FILE or KIND NAME, not both');
        await writeFromFile(command, 'delete', opts.filename, options);
        return;
      }
      if (kind === undefined || name === undefined) throw new UsageError('delete: give -f FILE, or KIND and NAME');
      const info = kindArg(kind);
      const namespace = info.namespaced ? opts.namespace : undefined;
      await withResourceStore(command, async (store) => {
        const deleted = await store.delete({ kind: info.kind, name, namespace }, options);
        printWriteSummary('delete', [deleted !== null]);
        if (deleted !== null && info.kind === 'Node') await releaseNodeAddresses(store, name);
      });
    });
  examples(cmd, ['tortie delete ippool pool-a', 'tortie delete policy allow-dns -n kube-system', 'tortie delete -f pools.yaml --skip-not-exists']);
}

function registerGet(program: Command): void {
  const cmd = program
    .command('get')
    .description('show resources of a kind, or one of them by name')
    .argument('<kind>', 'kind of resource: node, ippool, ipamconfig, bgpconfig, bgppeer, networkpolicy, globalnetworkpolicy, hostendpoint, workloadendpoint, profile (plurals and short names too)')
    .argument('[name]', 'name of one resource')
    .option('-n, --namespace <ns>', 'namespace (namespaced kinds; default "default")')
    .option('-A, --all-namespaces', 'every namespace (namespaced kinds)')
    .addOption(outputOption())
    .action(async (kind: string, name: string | undefined, opts: { namespace?: string; allNamespaces?: boolean; output: OutputFormat }, command: Command) => {
      const info = kindArg(kind);
      if (opts.namespace !== undefined && opts.allNamespaces) throw new UsageError('get: -n and -A do not go together');
      if (!info.namespaced && (opts.namespace !== undefined || opts.allNamespaces)) {
        throw new UsageError(`get: ${info.kind} is cluster-wide; -n and -A are for NetworkPolicy and WorkloadEndpoint`);
      }
      if (name !== undefined && opts.allNamespaces) throw new UsageError('get: -A lists every namespace; give -n NAMESPACE with a NAME');
      const namespace = info.namespaced && !opts.allNamespaces ? (opts.namespace ?? DEFAULT_NAMESPACE) : undefined;
      await withResourceStore(command, async (store) => {
        if (name !== undefined) {
          const resource = (await store.mustGet(info.kind, name, { namespace })) as AnyResource;
          process.stdout.write(render([resource], opts.output, info, { single: true, allNamespaces: false }));
          return;
        }
        const { items, revision } = await store.list(info.kind, { namespace });
        process.stdout.write(render(items as AnyResource[], opts.output, info, { single: false, allNamespaces: !!opts.allNamespaces, revision }));
      });
    });
  examples(cmd, ['tortie get ippools', 'tortie get ippool pool-a -o yaml', 'tortie get bgppeers -o wide', 'tortie get policy -A', 'tortie get gnp -o json']);
}

function kindArg(kind: string): KindInfo {
  try {
    return resolveKind(kind);
  } catch (err) {
    if (err instanceof UnknownKindError) throw new UserError(err.message);
    throw err;
  }
}

async function readSource(filename: string): Promise<{ text: string; source: string }> {
  if (filename === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return { text: Buffer.concat(chunks).toString('utf8'), source: 'stdin' };
  }
  try {
    return { text: await readFile(filename, 'utf8'), source: filename };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new UserError(`${filename}: cannot read it: ${why}`);
  }
}

async function writeFromFile(command: Command, verb: WriteVerb, filename: string, options: { defaultNamespace: string; skipNotExists?: boolean; skipExists?: boolean }): Promise<void> {
  const { text, source } = await readSource(filename);
  const docs = parseDocuments(text, source);
  if (docs.length === 0) throw new UserError(`${source}: no resources in it`);
  await withResourceStore(command, async (store) => {
    const results = await store.applyAll(docs.map((d) => d.value), verb, options).catch((err) => {
      throw err instanceof ResourceError ? new UserError(whereInFile(source, docs, err)) : err;
    });
    printWriteSummary(verb, results.map((r) => r.changed));
    if (verb !== 'delete') return;
    for (const r of results) if (r.changed && r.resource.kind === 'Node') await releaseNodeAddresses(store, r.resource.metadata.name);
  });
}

/**
 * As calicoctl does: a deleted node gives back its block affinities, and the addresses its
 * workloads held unless a live workload endpoint still uses them.
 */
async function releaseNodeAddresses(store: ResourceStore, node: string): Promise<void> {
  const summary = await new Ipam(store.kv, new ResourceConfigSource(store)).releaseNode(node);
  const kept = summary.addressesKept.length > 0 ? `; kept ${summary.addressesKept.length} still used by live workloads` : '';
  process.stdout.write(`Released ${summary.affinitiesReleased.length} block affinities and ${summary.addressesReleased.length} addresses of node "${node}"${kept}\n`);
}

/** `pools.yaml, document 2 (IPPool "pool-b"): spec.cidr: ...` */
function whereInFile(source: string, docs: SourceDocument[], err: ResourceError): string {
  const doc = err.index !== undefined ? docs[err.index] : undefined;
  const where = [source, doc?.where].filter(Boolean).join(', ');
  const who = describeIdentity(err.identity);
  return `${where}${who ? ` (${who})` : ''}: ${err.detail}`;
}

function printWriteSummary(verb: WriteVerb, changed: boolean[]): void {
  const done = changed.filter(Boolean).length;
  const skipped = changed.length - done;
  const why = verb === 'delete' ? 'did not exist' : 'existed already';
  process.stdout.write(`Successfully ${PAST[verb]} ${done} resource(s)${skipped ? ` (${skipped} ${why})` : ''}\n`);
}

function render(items: AnyResource[], format: OutputFormat, info: KindInfo, how: { single: boolean; allNamespaces: boolean; revision?: number }): string {
  if (format === 'yaml' || format === 'json') {
    const value = how.single ? items[0] : { apiVersion: API_VERSION, kind: `${info.kind}List`, metadata: { resourceVersion: String(how.revision ?? '') }, items };
    return format === 'yaml' ? toYaml(value) : toJson(value);
  }
  const wide = format === 'wide';
  const cols = columnsFor(info.kind, wide);
  const withNs = info.namespaced && (how.allNamespaces || wide);
  const headers = [...(withNs ? ['NAMESPACE'] : []), ...cols.map((c) => c[0])];
  const rows = items.map((r) => [...(withNs ? [r.metadata.namespace ?? ''] : []), ...cols.map((c) => c[1](r))]);
  return renderTable(headers, rows);
}

type Column = [string, (r: AnyResource) => string];

const list = (v: readonly unknown[] | undefined) => (v && v.length ? v.join(',') : '');
const opt = (v: unknown) => (v === undefined || v === null ? '' : String(v));
const rules = (v: Rule[] | undefined) => String(v?.length ?? 0);

/** calicoctl-like columns: NAME and the few fields one looks for; wide adds the rest. */
function columnsFor(kind: AnyResource['kind'], wide: boolean): Column[] {
  const name: Column = ['NAME', (r) => r.metadata.name];
  const s = <K extends AnyResource['kind']>(_k: K, f: (r: Extract<AnyResource, { kind: K }>) => string) => (r: AnyResource) => f(r as Extract<AnyResource, { kind: K }>);
  const table: Record<AnyResource['kind'], { base: Column[]; wide: Column[] }> = {
    IPPool: {
      base: [name, ['CIDR', s('IPPool', (r) => r.spec.cidr)], ['SELECTOR', s('IPPool', (r) => r.spec.nodeSelector)]],
      wide: [
        ['BLOCKSIZE', s('IPPool', (r) => String(r.spec.blockSize))],
        ['NAT', s('IPPool', (r) => String(r.spec.natOutgoing))],
        ['IPIPMODE', s('IPPool', (r) => r.spec.ipipMode)],
        ['VXLANMODE', s('IPPool', (r) => r.spec.vxlanMode)],
        ['DISABLED', s('IPPool', (r) => String(r.spec.disabled))],
        ['DISABLEBGPEXPORT', s('IPPool', (r) => String(r.spec.disableBGPExport))],
        ['ALLOWEDUSES', s('IPPool', (r) => list(r.spec.allowedUses))],
      ],
    },
    BGPPeer: {
      base: [name, ['PEERIP', s('BGPPeer', (r) => opt(r.spec.peerIP))], ['NODE', s('BGPPeer', (r) => r.spec.node ?? r.spec.nodeSelector ?? '(global)')], ['ASN', s('BGPPeer', (r) => opt(r.spec.asNumber))]],
      wide: [
        ['PEERSELECTOR', s('BGPPeer', (r) => opt(r.spec.peerSelector))],
        ['PASSWORD', s('BGPPeer', (r) => (r.spec.password ? (r.spec.password.secretKeyRef ? `secret ${r.spec.password.secretKeyRef.name}/${r.spec.password.secretKeyRef.key}` : 'set') : ''))],
        ['TTLSECURITY', s('BGPPeer', (r) => opt(r.spec.ttlSecurity))],
        ['KEEPNEXTHOP', s('BGPPeer', (r) => opt(r.spec.keepOriginalNextHop))],
      ],
    },
    BGPConfiguration: {
      base: [name, ['LOGSEVERITY', s('BGPConfiguration', (r) => opt(r.spec.logSeverityScreen))], ['MESHENABLED', s('BGPConfiguration', (r) => opt(r.spec.nodeToNodeMeshEnabled))], ['ASNUMBER', s('BGPConfiguration', (r) => opt(r.spec.asNumber))]],
      wide: [
        ['LISTENPORT', s('BGPConfiguration', (r) => opt(r.spec.listenPort))],
        ['CLUSTERIPS', s('BGPConfiguration', (r) => list(r.spec.serviceClusterIPs?.map((c) => c.cidr)))],
        ['EXTERNALIPS', s('BGPConfiguration', (r) => list(r.spec.serviceExternalIPs?.map((c) => c.cidr)))],
      ],
    },
    IPAMConfiguration: {
      base: [name, ['STRICTAFFINITY', s('IPAMConfiguration', (r) => String(r.spec.strictAffinity))], ['MAXBLOCKSPERHOST', s('IPAMConfiguration', (r) => String(r.spec.maxBlocksPerHost))]],
      wide: [['AUTOALLOCATEBLOCKS', s('IPAMConfiguration', (r) => String(r.spec.autoAllocateBlocks))]],
    },
    Node: {
      base: [name],
      wide: [
        ['ASN', s('Node', (r) => opt(r.spec.bgp?.asNumber))],
        ['IPV4', s('Node', (r) => opt(r.spec.bgp?.ipv4Address))],
        ['IPV6', s('Node', (r) => opt(r.spec.bgp?.ipv6Address))],
        ['RRCLUSTERID', s('Node', (r) => opt(r.spec.bgp?.routeReflectorClusterID))],
      ],
    },
    NetworkPolicy: {
      base: [name],
      wide: [
        ['ORDER', s('NetworkPolicy', (r) => opt(r.spec.order))],
        ['SELECTOR', s('NetworkPolicy', (r) => r.spec.selector)],
        ['TYPES', s('NetworkPolicy', (r) => list(r.spec.types))],
        ['INGRESS', s('NetworkPolicy', (r) => rules(r.spec.ingress))],
        ['EGRESS', s('NetworkPolicy', (r) => rules(r.spec.egress))],
      ],
    },
    GlobalNetworkPolicy: {
      base: [name],
      wide: [
        ['ORDER', s('GlobalNetworkPolicy', (r) => opt(r.spec.order))],
        ['SELECTOR', s('GlobalNetworkPolicy', (r) => r.spec.selector)],
        ['TYPES', s('GlobalNetworkPolicy', (r) => list(r.spec.types))],
        ['INGRESS', s('GlobalNetworkPolicy', (r) => rules(r.spec.ingress))],
        ['EGRESS', s('GlobalNetworkPolicy', (r) => rules(r.spec.egress))],
      ],
    },
    HostEndpoint: {
      base: [name, ['NODE', s('HostEndpoint', (r) => r.spec.node)]],
      wide: [
        ['INTERFACE', s('HostEndpoint', (r) => opt(r.spec.interfaceName))],
        ['IPS', s('HostEndpoint', (r) => list(r.spec.expectedIPs))],
        ['PROFILES', s('HostEndpoint', (r) => list(r.spec.profiles))],
      ],
    },
    WorkloadEndpoint: {
      base: [
        ['WORKLOAD', s('WorkloadEndpoint', (r) => r.spec.workload ?? r.spec.pod ?? r.metadata.name)],
        ['NODE', s('WorkloadEndpoint', (r) => opt(r.spec.node))],
        ['NETWORKS', s('WorkloadEndpoint', (r) => list(r.spec.ipNetworks))],
        ['INTERFACE', s('WorkloadEndpoint', (r) => r.spec.interfaceName)],
      ],
      wide: [
        ['NAME', (r) => r.metadata.name],
        ['PROFILES', s('WorkloadEndpoint', (r) => list(r.spec.profiles))],
        ['MAC', s('WorkloadEndpoint', (r) => opt(r.spec.mac))],
      ],
    },
    Profile: {
      base: [name],
      wide: [
        ['LABELS', s('Profile', (r) => Object.entries(r.spec.labelsToApply ?? {}).map(([k, v]) => `${k}=${v}`).join(','))],
        ['INGRESS', s('Profile', (r) => rules(r.spec.ingress))],
        ['EGRESS', s('Profile', (r) => rules(r.spec.egress))],
      ],
    },
  };
  const t = table[kind];
  return wide ? [...t.base, ...t.wide] : t.base;
}
