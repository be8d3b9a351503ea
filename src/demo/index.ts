// What other parts may use from src/demo: the demo backend the quickstart
// and `isobar demo-backend` run, and the PKI generator they and the tests share.
export { startDemoBackend, describeRequest } from './backend.ts';
export type { DemoBackendOptions, DemoAnswer } from './backend.ts';
export { createCa, selfSigned } from './pki.ts';
export type { Ca, Issued, LeafOptions } from './pki.ts';
