/** lab graph: one box per node and workload, one line per link, one arc per BGP pair, coloured by state. */
import { expect } from 'chai';
import { renderSvg } from '../../../src/lab/graph.js';
import type { LabStatus } from '../../../src/lab/status.js';
import { topologyFromDocument } from '../../../src/lab/topology.js';

const topology = topologyFromDocument({
  name: 'g',
  topology: {
    nodes: { tor: { kind: 'linux', image: 'quay.io/frrouting/frr:8.4.4' }, br: { kind: 'bridge' }, h1: { kind: 'linux', labels: { 'tortie.role': 'host' }, cmd: 'tortie node run --name h1' }, h2: { kind: 'linux', labels: { 'tortie.role': 'host' }, cmd: 'tortie node run --name h2' } },
    links: [{ endpoints: ['tor:eth1', 'br:p0'] }, { endpoints: ['h1:eth1', 'br:p1'] }, { endpoints: ['h2:eth1', 'br:p2'] }],
  },
}, '/x/g.clab.yml');

const node = (name: string, role: string, addr?: string) => ({ name, role, netns: `tl-g-${name}`, present: true, processes: [], addresses: addr ? [`eth1 ${addr}/24`] : [] });
const status: LabStatus = {
  lab: 'g', file: '/x/g.clab.yml', phase: 'up',
  nodes: [node('tor', 'frr', '10.0.0.1'), node('br', 'bridge'), node('h1', 'host', '10.0.0.11'), node('h2', 'host', '10.0.0.12')],
  sessions: [
    { node: 'tor', peer: '10.0.0.11', state: 'Established' }, { node: 'h1', peer: '10.0.0.1', state: 'Established' },
    { node: 'tor', peer: '10.0.0.12', state: 'Active' }, { node: 'h2', peer: '10.0.0.1', state: 'Connect' },
  ],
  workloads: [{ name: 'web-1', node: 'h1', netns: 'tw-g-web-1', present: true, ips: ['10.65.0.1'], labels: {} }],
};

describe('lab graph (SVG)', () => {
  const svg = renderSvg({ topology, status });
  it('draws every node and workload, and every link', () => {
    for (const name of ['tor', 'br', 'h1', 'h2', 'web-1']) expect(svg).to.include(`>${name}<`);
    expect(svg.match(/<line [^>]*stroke="#888"/g)).to.have.length(3 + 1); // three links and the legend's
  });
  it('draws one arc per session pair: green when both sides say Established, red with the state otherwise', () => {
    expect(svg.match(/<path [^>]*stroke="#2a9d3a"/g)).to.have.length(1);
    expect(svg.match(/<path [^>]*stroke="#d33"/g)).to.have.length(1);
    expect(svg).to.match(/>(Active|Connect)</);
    expect(svg).to.include('2/4 BGP sessions Established');
  });
  it('escapes text and is one svg document', () => {
    const odd = renderSvg({ topology: { ...topology, name: 'a<b&c' } });
    expect(odd).to.include('lab a&lt;b&amp;c');
    expect(odd.trim()).to.match(/^<svg[\s\S]*<\/svg>$/);
  });
});
