// What other parts may use from src/admin: the admin listener, what it is
// shown of the edge, and the graph its page draws.
export { startAdminServer, type AdminOptions, type AdminServer } from './server.ts';
export type { EdgeView, ProxyListenerView } from './edge-view.ts';
export type { EdgeGraph, GraphNode, GraphEdge, NodeKind, NodeStatus } from './graph-types.ts';
