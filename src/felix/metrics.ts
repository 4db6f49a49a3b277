/**
 * Prometheus metrics of one felix (a registry of its own, not prom-client's global one), and
 * the small HTTP endpoint that serves them with /liveness and /readiness.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export class FelixMetrics {
  readonly registry = new Registry();
  readonly applyDuration = new Histogram({
    name: 'tortie_felix_apply_duration_seconds',
    help: 'Time to bring the dataplane up to date once (calculation and kernel writes).',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly applies = new Counter({ name: 'tortie_felix_applies_total', help: 'Dataplane applies that succeeded.', registers: [this.registry] });
  readonly failures = new Counter({ name: 'tortie_felix_apply_failures_total', help: 'Dataplane applies that failed (and were retried).', registers: [this.registry] });
  readonly rules = new Gauge({ name: 'tortie_felix_iptables_rules', help: 'iptables rules felix keeps, all tables and families.', registers: [this.registry] });
  readonly chains = new Gauge({ name: 'tortie_felix_iptables_chains', help: 'iptables chains felix keeps.', registers: [this.registry] });
  readonly ipsets = new Gauge({ name: 'tortie_felix_ipsets', help: 'ipsets felix keeps.', registers: [this.registry] });
  readonly routes = new Gauge({ name: 'tortie_felix_routes', help: 'Routes felix keeps (workload and blackhole).', registers: [this.registry] });
  readonly endpoints = new Gauge({ name: 'tortie_felix_active_endpoints', help: 'Local workload and host endpoints.', registers: [this.registry] });
  readonly policies = new Gauge({ name: 'tortie_felix_active_policies', help: 'Policies that apply to a local endpoint.', registers: [this.registry] });
  readonly pending = new Gauge({ name: 'tortie_felix_pending_kernel_objects', help: 'Routes and sysctls waiting for their interface.', registers: [this.registry] });
  readonly problems = new Gauge({ name: 'tortie_felix_input_problems', help: 'Resources that could not be used and were failed closed.', registers: [this.registry] });
}

export interface HealthSource {
  live(): boolean;
  ready(): boolean;
}

/** Serves /metrics, /liveness and /readiness; resolves with the port once listening. */
export async function serveMetrics(metrics: FelixMetrics, health: HealthSource, port: number, host: string): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (code: number, body: string, type = 'text/plain') => {
      res.writeHead(code, { 'content-type': type });
      res.end(body);
    };
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => reply(200, text, metrics.registry.contentType),
        (err: unknown) => reply(500, String(err)),
      );
    } else if (path === '/liveness') {
      if (health.live()) reply(200, 'ok\n');
      else reply(503, 'not live\n');
    } else if (path === '/readiness') {
      if (health.ready()) reply(200, 'ok\n');
      else reply(503, 'not ready\n');
    } else {
      reply(404, 'not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
