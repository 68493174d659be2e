/**
 * Server layer (workers): the controller seen through the admin layer's `AdminContext`. Stats are
 * the workers' summed (an IPC round trip, so a promise); config updates go through the controller,
 * which validates them once and hands them to every worker; `/api/v1/workers` lists the pool.
 */
import type { AdminContext } from '../../admin/index.js';
import type { Controller } from './controller.js';

export function createControllerAdminContext(controller: Controller): AdminContext {
  return {
    version: controller.version,
    pid: process.pid,
    loggers: controller.loggers,
    stage: () => controller.stages.stage,
    ready: () => controller.ready,
    draining: () => controller.draining,
    statsSnapshot: (type) => controller.statsSnapshot(type),
    configDocument: () => controller.document,
    configVersion: () => controller.configVersion,
    applyDocument: (raw) => controller.applyDocument(raw),
    gracefulStop: () => controller.requestGracefulStop(),
    workers: () => controller.workers(),
    upgradeStatus: () => controller.upgradeStatus,
  };
}
