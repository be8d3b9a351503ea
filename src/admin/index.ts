// What other parts may use from src/admin: the admin listener.
export { startAdminServer, type AdminOptions, type AdminServer } from './server.ts';
