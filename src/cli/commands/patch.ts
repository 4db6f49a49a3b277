/**
 * calicoctl's and kubectl's in-place edits of one stored resource: `patch` (a JSON merge patch,
 * RFC 7386, or a JSON patch, RFC 6902) and `label`. Both read the resource, change it, check it
 * like any write and write it back with the resourceVersion they read as a compare-and-swap: a
 * change made by someone else in between fails with a conflict rather than being overwritten.
 */
import { Option, type Command } from 'commander';
import { ConflictError, UsageError, UserError } from '../../common/errors.js';
import { describeIdentity } from '../../datastore/resources/errors.js';
import { DEFAULT_NAMESPACE, resolveKind, UnknownKindError, type KindInfo } from '../../datastore/resources/kinds.js';
import type { ResourceStore } from '../../datastore/resources/store.js';
import type { AnyResource } from '../../datastore/resources/types.js';
import { addDatastoreOptions, examples, withResourceStore } from './common.js';

export function registerPatchCommands(program: Command): void {
  addDatastoreOptions(program);
  registerPatch(program);
  registerLabel(program);
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function registerPatch(program: Command): void {
  const cmd = program
    .command('patch')
    .description('change one stored resource with a JSON merge patch (RFC 7386, the default) or a JSON patch (RFC 6902)')
    .argument('<kind>', 'kind of resource (ippool, bgppeer, gnp, ...)')
    .argument('<name>', 'name of the resource')
    .requiredOption('-p, --patch <json>', 'the patch, as JSON; a metadata.resourceVersion in it must match the stored one')
    .addOption(new Option('--type <type>', 'patch type: merge (RFC 7386) or json (RFC 6902)').choices(['merge', 'json']).default('merge'))
    .option('-n, --namespace <ns>', 'namespace (namespaced kinds)', DEFAULT_NAMESPACE)
    .action(async (kind: string, name: string, opts: { patch: string; type: 'merge' | 'json'; namespace: string }, command: Command) => {
      const info = kindArg(kind);
      const patch = parsePatch(opts.patch, opts.type);
      await withResourceStore(command, async (store) => {
        await editResource(store, 'patch', info, name, opts.namespace, (stored) => {
          return opts.type === 'merge' ? mergePatch(stored, patch) : jsonPatch(stored, patch as Json[]);
        });
      });
      process.stdout.write(`Successfully patched 1 '${info.kind}' resource\n`);
    });
  examples(cmd, [
    `tortie patch ippool pool-a -p '{"spec":{"natOutgoing":true}}'`,
    `tortie patch bgpconfig default -p '{"spec":{"asNumber":64513}}'`,
    `tortie patch gnp allow-dns --type json -p '[{"op":"replace","path":"/spec/order","value":10}]'`,
    `tortie patch policy allow-web -n shop -p '{"metadata":{"labels":{"tier":null}}}'`,
  ]);
}

function registerLabel(program: Command): void {
  const cmd = program
    .command('label')
    .description('add, change (with --overwrite) or remove (key-) labels of one stored resource')
    .argument('<kind>', 'kind of resource (node, ippool, hep, ...)')
    .argument('<name>', 'name of the resource')
    .argument('<labels...>', 'key=value to set a label, key- to remove one')
    .option('--overwrite', 'allow changing the value of a label that is set already')
    .option('--resource-version <version>', 'only change the resource if it is still at this resourceVersion')
    .option('-n, --namespace <ns>', 'namespace (namespaced kinds)', DEFAULT_NAMESPACE)
    .action(async (kind: string, name: string, args: string[], opts: { overwrite?: boolean; resourceVersion?: string; namespace: string }, command: Command) => {
      const info = kindArg(kind);
      const { set, remove } = parseLabelArgs(args);
      await withResourceStore(command, async (store) => {
        await editResource(store, 'label', info, name, opts.namespace, (stored) => {
          const out = structuredClone(stored) as AnyResource;
          if (opts.resourceVersion !== undefined) out.metadata.resourceVersion = opts.resourceVersion;
          const labels: Record<string, string> = { ...(out.metadata.labels ?? {}) };
          for (const [key, value] of set) {
            if (key in labels && labels[key] !== value && !opts.overwrite) {
              throw new UserError(`label: ${describeIdentity(identity(info, name, opts.namespace))} has label ${key}=${labels[key]} already; give --overwrite to change it`);
            }
            labels[key] = value;
          }
          for (const key of remove) delete labels[key];
          if (Object.keys(labels).length > 0) out.metadata.labels = labels;
          else delete out.metadata.labels;
          return out;
        });
      });
      process.stdout.write(`Successfully labeled 1 '${info.kind}' resource\n`);
    });
  examples(cmd, [
    'tortie label node node-1 rack=r1 zone=a',
    'tortie label node node-1 rack=r2 --overwrite',
    'tortie label hep eth0-node-1 role-',
    'tortie label wep pod-a-eth0 -n shop app=web',
  ]);
}

function kindArg(kind: string): KindInfo {
  try {
    return resolveKind(kind);
  } catch (err) {
    if (err instanceof UnknownKindError) throw new UserError(err.message);
    throw err;
  }
}

function identity(info: KindInfo, name: string, namespace: string) {
  return { kind: info.kind, name, namespace: info.namespaced ? namespace : undefined };
}

/** `-p` as JSON: an object for a merge patch, an array of operations for a JSON patch. */
export function parsePatch(text: string, type: 'merge' | 'json'): Json {
  let value: Json;
  try {
    value = JSON.parse(text) as Json;
  } catch (err) {
    throw new UsageError(`patch: -p is not valid JSON: ${(err as Error).message}`);
  }
  if (type === 'merge' && (value === null || typeof value !== 'object' || Array.isArray(value))) {
    throw new UsageError('patch: -p must be a JSON object for a merge patch (use --type json for a list of operations)');
  }
  if (type === 'json') {
    if (!Array.isArray(value)) throw new UsageError('patch: -p must be a JSON array of operations for --type json');
    value.forEach((op, i) => {
      if (op === null || typeof op !== 'object' || Array.isArray(op) || typeof op.op !== 'string' || typeof op.path !== 'string') {
        throw new UsageError(`patch: -p operation ${i}: must be an object with "op" and "path" strings`);
      }
      if (!['add', 'remove', 'replace', 'move', 'copy', 'test'].includes(op.op)) {
        throw new UsageError(`patch: -p operation ${i}: unknown op ${JSON.stringify(op.op)}; valid ops: add, remove, replace, move, copy, test`);
      }
      if ((op.op === 'move' || op.op === 'copy') && typeof op.from !== 'string') throw new UsageError(`patch: -p operation ${i}: "${op.op}" needs a "from" string`);
      if ((op.op === 'add' || op.op === 'replace' || op.op === 'test') && !('value' in op)) throw new UsageError(`patch: -p operation ${i}: "${op.op}" needs a "value"`);
    });
  }
  return value;
}

/** `key=value` sets, `key-` removes; a key both set and removed is a usage error. */
export function parseLabelArgs(args: string[]): { set: Map<string, string>; remove: Set<string> } {
  const set = new Map<string, string>();
  const remove = new Set<string>();
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq > 0) {
      const key = arg.slice(0, eq);
      const value = arg.slice(eq + 1);
      if (set.has(key) && set.get(key) !== value) throw new UsageError(`label: ${key} is given twice with different values`);
      set.set(key, value);
    } else if (arg.endsWith('-') && arg.length > 1 && !arg.includes('=')) {
      remove.add(arg.slice(0, -1));
    } else {
      throw new UsageError(`label: "${arg}" is neither key=value (to set) nor key- (to remove)`);
    }
  }
  for (const key of remove) if (set.has(key)) throw new UsageError(`label: ${key} is both set and removed`);
  return { set, remove };
}

/** RFC 7386: objects merge key by key, null removes, anything else replaces. */
export function mergePatch(target: unknown, patch: Json): Json {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return structuredClone(patch);
  const out: { [key: string]: Json } = target !== null && typeof target === 'object' && !Array.isArray(target) ? structuredClone(target as { [key: string]: Json }) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

class PatchError extends UserError {}

/** RFC 6902, applied to a copy: the whole patch applies or none of it does. */
export function jsonPatch(target: unknown, ops: readonly Json[]): Json {
  let doc = structuredClone(target) as Json;
  ops.forEach((raw, i) => {
    const op = raw as { op: string; path: string; from?: string; value?: Json };
    const fail = (why: string): never => {
      throw new PatchError(`patch: operation ${i} (${op.op} ${op.path}): ${why}`);
    };
    try {
      switch (op.op) {
        case 'add':
          doc = addAt(doc, parsePointer(op.path), structuredClone(op.value as Json));
          break;
        case 'remove':
          doc = removeAt(doc, parsePointer(op.path));
          break;
        case 'replace': {
          const path = parsePointer(op.path);
          getAt(doc, path);
          doc = addAt(removeAt(doc, path), path, structuredClone(op.value as Json));
          break;
        }
        case 'move': {
          const from = parsePointer(op.from!);
          const path = parsePointer(op.path);
          if (path.length > from.length && from.every((t, k) => t === path[k])) fail('cannot move a value into itself');
          const value = getAt(doc, from);
          doc = addAt(removeAt(doc, from), path, value);
          break;
        }
        case 'copy':
          doc = addAt(doc, parsePointer(op.path), structuredClone(getAt(doc, parsePointer(op.from!))));
          break;
        case 'test':
          if (!jsonEqual(getAt(doc, parsePointer(op.path)), op.value as Json)) fail(`value is ${JSON.stringify(getAt(doc, parsePointer(op.path)))}, not ${JSON.stringify(op.value)}`);
          break;
      }
    } catch (err) {
      if (err instanceof PatchError) throw err;
      if (err instanceof UserError) fail(err.message);
      throw err;
    }
  });
  return doc;
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new UserError(`"${pointer}" is not a JSON pointer (it must start with /)`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function isObject(v: Json | undefined): v is { [key: string]: Json } {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function arrayIndex(arr: Json[], token: string, forAdd: boolean): number {
  if (forAdd && token === '-') return arr.length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new UserError(`"${token}" is not an array index`);
  const n = Number(token);
  if (n > arr.length || (!forAdd && n === arr.length)) throw new UserError(`index ${n} is out of range (the array has ${arr.length} items)`);
  return n;
}

function getAt(doc: Json, path: string[]): Json {
  let cur: Json = doc;
  for (const [k, token] of path.entries()) {
    const where = `/${path.slice(0, k).join('/')}`;
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, token, false)];
    else if (isObject(cur) && Object.prototype.hasOwnProperty.call(cur, token)) cur = cur[token];
    else throw new UserError(`${isObject(cur) ? `no "${token}" in ${where}` : `${where} is not an object or array`}`);
  }
  return cur;
}

function addAt(doc: Json, path: string[], value: Json): Json {
  if (path.length === 0) return value;
  const parent = getAt(doc, path.slice(0, -1));
  const last = path[path.length - 1];
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, true), 0, value);
  else if (isObject(parent)) parent[last] = value;
  else throw new UserError(`/${path.slice(0, -1).join('/')} is not an object or array`);
  return doc;
}

function removeAt(doc: Json, path: string[]): Json {
  if (path.length === 0) throw new UserError('cannot remove the whole resource');
  getAt(doc, path);
  const parent = getAt(doc, path.slice(0, -1));
  const last = path[path.length - 1];
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, false), 1);
  else if (isObject(parent)) delete parent[last];
  return doc;
}

function jsonEqual(a: Json, b: Json): boolean {
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual(a[k], b[k]));
  }
  return a === b;
}

/**
 * Reads one resource, lets `change` compute its new form, and writes that with the stored
 * resourceVersion (or one the change set, for an explicit precondition) as a CAS.
 */
async function editResource(store: ResourceStore, verb: 'patch' | 'label', info: KindInfo, name: string, namespace: string, change: (stored: AnyResource) => unknown): Promise<void> {
  const id = identity(info, name, namespace);
  const stored = (await store.mustGet(info.kind, name, { namespace: id.namespace })) as AnyResource;
  const readVersion = stored.metadata.resourceVersion;
  const changed = change(stored);
  if (changed === null || typeof changed !== 'object' || Array.isArray(changed)) throw new UserError(`${verb}: the result is not a resource object`);
  const doc = changed as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown; namespace?: unknown; resourceVersion?: unknown } };
  if (doc.kind !== stored.kind) throw new UserError(`${verb}: kind: cannot change the kind of ${describeIdentity(id)}`);
  if (doc.metadata === null || typeof doc.metadata !== 'object') throw new UserError(`${verb}: metadata: cannot remove the metadata of ${describeIdentity(id)}`);
  if (doc.metadata.name !== stored.metadata.name) throw new UserError(`${verb}: metadata.name: cannot rename ${describeIdentity(id)}; create a new one and delete this one`);
  if (info.namespaced && doc.metadata.namespace !== stored.metadata.namespace) throw new UserError(`${verb}: metadata.namespace: cannot move ${describeIdentity(id)} to another namespace`);
  // A patch may name the resourceVersion it expects (kubectl's precondition); otherwise the
  // version read above guards the write.
  const given = doc.metadata.resourceVersion;
  const version = given === undefined || given === null || given === '' ? readVersion : String(given as string | number);
  doc.metadata.resourceVersion = version;
  if (version !== readVersion) {
    throw new ConflictError(`${verb}: ${describeIdentity(id)} is at resourceVersion ${readVersion}, not ${version}; get it again`);
  }
  try {
    await store.replace(doc, { defaultNamespace: namespace });
  } catch (err) {
    if (err instanceof ConflictError) {
      throw new ConflictError(`${verb}: ${describeIdentity(id)} was changed by someone else since it was read at resourceVersion ${readVersion}; run the ${verb} again`);
    }
    throw err;
  }
}
