/**
 * One document in, one checked resource out: envelope (apiVersion, kind, metadata), then the
 * kind's spec validator, which also applies Calico's defaults. Pure: no store, no clock.
 */
import { checkLabelKey, checkLabelValue, checkName, checkNamespace } from './checks.js';
import { ValidationError, type ResourceIdentity } from './errors.js';
import { fail, Fields, show } from '../../common/fields.js';
import { DEFAULT_NAMESPACE, KIND_NAMES, kindFromDocument } from './kinds.js';
import { validateBGPConfigurationSpec } from './specs/bgpconfig.js';
import { validateBGPPeerSpec } from './specs/bgppeer.js';
import { validateHostEndpointSpec, validateWorkloadEndpointSpec } from './specs/endpoints.js';
import { validateIPAMConfigurationSpec } from './specs/ipamconfig.js';
import { validateIPPoolSpec } from './specs/ippool.js';
import { validateNodeSpec } from './specs/node.js';
import { validateGlobalNetworkPolicySpec, validateNetworkPolicySpec } from './specs/policy.js';
import { validateProfileSpec } from './specs/profile.js';
import { API_VERSION, CALICO_API_VERSION, type AnyResource, type KindName, type ObjectMeta } from './types.js';

type SpecValidator = (spec: unknown, path: string, meta: ObjectMeta) => unknown;

const SPEC_VALIDATORS: Record<KindName, SpecValidator> = {
  Node: validateNodeSpec,
  IPPool: validateIPPoolSpec,
  IPAMConfiguration: validateIPAMConfigurationSpec,
  BGPConfiguration: (spec, path, meta) => validateBGPConfigurationSpec(spec, path, meta.name),
  BGPPeer: validateBGPPeerSpec,
  NetworkPolicy: validateNetworkPolicySpec,
  GlobalNetworkPolicy: validateGlobalNetworkPolicySpec,
  HostEndpoint: validateHostEndpointSpec,
  WorkloadEndpoint: validateWorkloadEndpointSpec,
  Profile: validateProfileSpec,
};

export const ACCEPTED_API_VERSIONS = [API_VERSION, CALICO_API_VERSION] as const;

export interface ValidateOptions {
  /** Namespace for namespaced kinds that give none (the CLI's -n). Default "default". */
  defaultNamespace?: string;
}

/** Checks a document and returns it as a resource with defaults applied (apiVersion canonical). */
export function validateResource(doc: unknown, options: ValidateOptions = {}): AnyResource {
  const f = Fields.of(doc, '', ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
  const apiVersion = f.requiredString('apiVersion');
  if (!(ACCEPTED_API_VERSIONS as readonly string[]).includes(apiVersion)) {
    fail('apiVersion', `${show(apiVersion)} is not supported (use ${ACCEPTED_API_VERSIONS.join(' or ')})`);
  }
  const kindText = f.requiredString('kind');
  const info = kindFromDocument(kindText);
  if (!info) fail('kind', `unknown kind ${show(kindText)}; valid kinds: ${KIND_NAMES.join(', ')}`);
  const metadata = validateMetadata(f.required('metadata'), info.kind, info.namespaced, options.defaultNamespace ?? DEFAULT_NAMESPACE);
  const spec = SPEC_VALIDATORS[info.kind](f.raw('spec'), 'spec', metadata);
  return { apiVersion: API_VERSION, kind: info.kind, metadata, spec } as AnyResource;
}

function validateMetadata(value: unknown, kind: KindName, namespaced: boolean, defaultNamespace: string): ObjectMeta {
  const f = Fields.of(value, 'metadata', ['name', 'namespace', 'labels', 'annotations', 'resourceVersion', 'uid', 'creationTimestamp', 'generation']);
  const name = f.requiredString('name', checkName);
  if (kind === 'IPAMConfiguration' && name !== 'default') fail('metadata.name', `${show(name)}: an IPAMConfiguration must be named "default"`);
  const meta: ObjectMeta = { name };
  const namespace = f.string('namespace', checkNamespace);
  if (namespaced) meta.namespace = namespace ?? defaultNamespace;
  else if (namespace !== undefined) fail('metadata.namespace', `${kind} is cluster-wide and takes no namespace`);
  const labels = f.stringMap('labels', checkLabelKey, checkLabelValue);
  if (labels) meta.labels = labels;
  const annotations = f.stringMap('annotations');
  if (annotations) meta.annotations = annotations;
  // resourceVersion is kept as the caller's compare-and-swap token; uid and creationTimestamp
  // belong to the store, which keeps its own (so `get -o yaml | apply` round-trips).
  const rv = f.raw('resourceVersion');
  if (rv !== undefined && rv !== '') {
    if ((typeof rv !== 'string' && typeof rv !== 'number') || !/^\d+$/.test(String(rv))) fail('metadata.resourceVersion', `${show(rv)} is not a resource version`);
    meta.resourceVersion = String(rv);
  }
  return meta;
}

/** Who a raw document says it is, for error messages, without validating anything. */
export function identityOf(doc: unknown): ResourceIdentity {
  if (doc === null || typeof doc !== 'object') return {};
  const d = doc as Record<string, unknown>;
  const id: ResourceIdentity = {};
  if (typeof d.kind === 'string') id.kind = kindFromDocument(d.kind)?.kind ?? d.kind;
  const m = d.metadata;
  if (m !== null && typeof m === 'object') {
    const meta = m as Record<string, unknown>;
    if (typeof meta.name === 'string') id.name = meta.name;
    if (typeof meta.namespace === 'string') id.namespace = meta.namespace;
  }
  return id;
}

export { ValidationError };
