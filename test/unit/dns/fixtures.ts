/** A WorkloadEndpoint document as the CNI plugin writes one, for the DNS tests. */
export function endpointDoc(name: string, node: string, ips: string[], options: { namespace?: string; workload?: string; ports?: { name: string; protocol: string; port: number }[] } = {}) {
  return {
    apiVersion: 'projectcalico.org/v3',
    kind: 'WorkloadEndpoint',
    metadata: { name, namespace: options.namespace ?? 'prod' },
    spec: {
      node,
      orchestrator: 'tortie',
      workload: options.workload ?? name,
      endpoint: 'eth0',
      interfaceName: `tor${name}`.slice(0, 15),
      ipNetworks: ips,
      ports: options.ports ?? [],
    },
  };
}
