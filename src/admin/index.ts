/** Admin layer: the public surface the server composes. */
export { AdminServer, type AdminServerOptions } from './admin-server.js';
export type { AdminContext, ApplySummary, ResourceNames, WorkerRow } from './admin-context.js';
export type { AdminHandler, AdminRequest, AdminResponse } from './admin-handler.js';
export { builtinAdminHandlers } from './handlers/index.js';
