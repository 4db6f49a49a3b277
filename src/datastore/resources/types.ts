/**
 * The resource kinds, with Calico v3's field names (projectcalico.org/v3) so that a user's
 * calicoctl YAML reads unchanged. Values here are what validation returns: checked, in
 * canonical form, with defaults applied.
 */

export const API_VERSION = 'tortie.dev/v1';
/** Accepted on input as well, and read as API_VERSION. */
export const CALICO_API_VERSION = 'projectcalico.org/v3';

export interface ObjectMeta {
  name: string;
  /** Only for namespaced kinds (NetworkPolicy, WorkloadEndpoint). */
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Set by the store: the KV modRevision of the last write, as a string (CAS token). */
  resourceVersion?: string;
  /** Set by the store at create. */
  uid?: string;
  creationTimestamp?: string;
}

export interface SecretKeyRef {
  name: string;
  key: string;
  optional?: boolean;
}

/** Calico's BGPPassword: `{secretKeyRef: {name, key}}`. tortie also reads a plain string. */
export interface BGPPassword {
  secretKeyRef?: SecretKeyRef;
  /** tortie's own: the password itself, from `password: "s3cret"`. */
  value?: string;
}

export type EncapMode = 'Never' | 'Always' | 'CrossSubnet';
export type IPPoolAllowedUse = 'Workload' | 'Tunnel' | 'LoadBalancer';

export interface IPPoolSpec {
  cidr: string;
  blockSize: number;
  ipipMode: EncapMode;
  vxlanMode: EncapMode;
  natOutgoing: boolean;
  disabled: boolean;
  disableBGPExport: boolean;
  nodeSelector: string;
  allowedUses: IPPoolAllowedUse[];
  assignmentMode?: 'Automatic' | 'Manual';
}

export interface IPAMConfigurationSpec {
  strictAffinity: boolean;
  maxBlocksPerHost: number;
  autoAllocateBlocks: boolean;
}

export interface CidrBlock {
  cidr: string;
}

export interface Community {
  name: string;
  value: string;
}

export interface PrefixAdvertisement {
  cidr: string;
  communities: string[];
}

export interface BGPConfigurationSpec {
  logSeverityScreen?: string;
  nodeToNodeMeshEnabled?: boolean;
  asNumber?: number;
  serviceClusterIPs?: CidrBlock[];
  serviceExternalIPs?: CidrBlock[];
  serviceLoadBalancerIPs?: CidrBlock[];
  listenPort?: number;
  communities?: Community[];
  prefixAdvertisements?: PrefixAdvertisement[];
  nodeMeshPassword?: BGPPassword;
  nodeMeshMaxRestartTime?: string;
  bindMode?: 'None' | 'NodeIP';
  ignoredInterfaces?: string[];
}

export interface BGPPeerSpec {
  node?: string;
  nodeSelector?: string;
  peerIP?: string;
  asNumber?: number;
  peerSelector?: string;
  keepOriginalNextHop?: boolean;
  password?: BGPPassword;
  sourceAddress?: 'UseNodeIP' | 'None';
  maxRestartTime?: string;
  numAllowedLocalASNumbers?: number;
  ttlSecurity?: number;
  filters?: string[];
  reachableBy?: string;
}

export interface NodeBGPSpec {
  asNumber?: number;
  ipv4Address?: string;
  ipv6Address?: string;
  ipv4IPIPTunnelAddr?: string;
  routeReflectorClusterID?: string;
}

export interface NodeAddress {
  address: string;
  type?: 'InternalIP' | 'ExternalIP' | 'CalicoNodeIP';
}

export interface NodeSpec {
  bgp?: NodeBGPSpec;
  ipv4VXLANTunnelAddr?: string;
  ipv6VXLANTunnelAddr?: string;
  vxlanTunnelMACAddr?: string;
  addresses?: NodeAddress[];
  orchRefs?: { nodeName?: string; orchestrator: string }[];
}

export type RuleAction = 'Allow' | 'Deny' | 'Log' | 'Pass';
export type Protocol = string | number;
export type Port = number | string;

export interface ICMPFields {
  type?: number;
  code?: number;
}

export interface ServiceAccountMatch {
  names?: string[];
  selector?: string;
}

export interface EntityRule {
  nets?: string[];
  notNets?: string[];
  selector?: string;
  notSelector?: string;
  namespaceSelector?: string;
  ports?: Port[];
  notPorts?: Port[];
  serviceAccounts?: ServiceAccountMatch;
  services?: { name: string; namespace?: string };
}

export interface Rule {
  action: RuleAction;
  protocol?: Protocol;
  notProtocol?: Protocol;
  icmp?: ICMPFields;
  notICMP?: ICMPFields;
  ipVersion?: 4 | 6;
  source?: EntityRule;
  destination?: EntityRule;
  http?: { methods?: string[]; paths?: { exact?: string; prefix?: string }[] };
  metadata?: { annotations?: Record<string, string> };
}

export type PolicyType = 'Ingress' | 'Egress';

export interface NetworkPolicySpec {
  tier?: string;
  order?: number;
  selector: string;
  types: PolicyType[];
  ingress?: Rule[];
  egress?: Rule[];
  serviceAccountSelector?: string;
  performanceHints?: string[];
}

export interface GlobalNetworkPolicySpec extends NetworkPolicySpec {
  namespaceSelector?: string;
  doNotTrack?: boolean;
  preDNAT?: boolean;
  applyOnForward?: boolean;
}

export interface EndpointPort {
  name: string;
  protocol: Protocol;
  port: number;
}

export interface HostEndpointSpec {
  node: string;
  interfaceName?: string;
  expectedIPs?: string[];
  profiles?: string[];
  ports?: EndpointPort[];
}

export interface WorkloadEndpointPort extends EndpointPort {
  hostPort?: number;
  hostIP?: string;
}

export interface WorkloadEndpointSpec {
  orchestrator?: string;
  workload?: string;
  node?: string;
  containerID?: string;
  pod?: string;
  endpoint?: string;
  serviceAccountName?: string;
  ipNetworks?: string[];
  ipNATs?: { internalIP: string; externalIP: string }[];
  ipv4Gateway?: string;
  ipv6Gateway?: string;
  profiles?: string[];
  interfaceName: string;
  mac?: string;
  ports?: WorkloadEndpointPort[];
  allowSpoofedSourcePrefixes?: string[];
}

export interface ProfileSpec {
  ingress?: Rule[];
  egress?: Rule[];
  labelsToApply?: Record<string, string>;
}

/** Each kind's spec type, by kind name. */
export interface SpecByKind {
  Node: NodeSpec;
  IPPool: IPPoolSpec;
  IPAMConfiguration: IPAMConfigurationSpec;
  BGPConfiguration: BGPConfigurationSpec;
  BGPPeer: BGPPeerSpec;
  NetworkPolicy: NetworkPolicySpec;
  GlobalNetworkPolicy: GlobalNetworkPolicySpec;
  HostEndpoint: HostEndpointSpec;
  WorkloadEndpoint: WorkloadEndpointSpec;
  Profile: ProfileSpec;
}

export type KindName = keyof SpecByKind;

export interface Resource<K extends KindName = KindName> {
  apiVersion: string;
  kind: K;
  metadata: ObjectMeta;
  spec: SpecByKind[K];
}

/** Any resource, narrowed by `kind`: `if (r.kind === 'IPPool') r.spec.cidr`. */
export type AnyResource = { [K in KindName]: Resource<K> }[KindName];

export type IPPool = Resource<'IPPool'>;
export type IPAMConfiguration = Resource<'IPAMConfiguration'>;
export type BGPConfiguration = Resource<'BGPConfiguration'>;
export type BGPPeer = Resource<'BGPPeer'>;
export type Node = Resource<'Node'>;
export type NetworkPolicy = Resource<'NetworkPolicy'>;
export type GlobalNetworkPolicy = Resource<'GlobalNetworkPolicy'>;
export type HostEndpoint = Resource<'HostEndpoint'>;
export type WorkloadEndpoint = Resource<'WorkloadEndpoint'>;
export type Profile = Resource<'Profile'>;
