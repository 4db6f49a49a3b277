/** Labs: containerlab topology files realized with network namespaces, and back down. */
export { down, execIn, loadTopology, netnsFor, runTortie, up, type DownReport, type UpOptions } from './lab.js';
export { renderSvg } from './graph.js';
export { Progress } from './progress.js';
export { assertSchemaValid, schemaErrors, schemaPath } from './schema.js';
export { listLabs, readState, statePath, type LabState } from './state.js';
export { collectSessions, labStatus, type LabStatus, type SessionView } from './status.js';
export { readTopologyFile, type Topology } from './topology.js';
export { readWorkloads, workloadsFile } from './workloads.js';
export { labMatrix, type LabMatrix } from './matrix.js';
export { explain, renderMatrix, type MatrixCell, type Policy, type Verdict } from './reach.js';
