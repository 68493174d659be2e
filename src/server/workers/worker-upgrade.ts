/**
 * Server layer (workers): a worker's part in a hot upgrade, driven by its controller (see
 * src/server/upgrade/). Old side: stop accepting, then move this worker's connections to the new
 * serving processes and report the counts. New side: open a connection target and adopt what the
 * old process sends, until told the old one is done.
 */
import type { CounterEntry } from '../../observability/index.js';
import { onControllerMessage } from './worker-main.js';

export const UpgradeRequest = {
  Release: 'upgrade-release',
  Resume: 'upgrade-resume',
  Handover: 'upgrade-handover',
  Counters: 'upgrade-counters',
  Receive: 'upgrade-receive',
  ReceiveEnd: 'upgrade-receive-end',
} as const;

export function registerUpgradeHandlers(): void {
  onControllerMessage(UpgradeRequest.Release, async (_m, server) => {
    await server.releaseListeners();
    return { ok: true };
  });
  onControllerMessage(UpgradeRequest.Resume, async (_m, server) => {
    await server.resumeListeners();
    return { ok: true };
  });
  onControllerMessage(UpgradeRequest.Handover, async (m, server) => {
    const targets = Array.isArray(m['targets']) ? (m['targets'] as unknown[]).filter((t): t is string => typeof t === 'string') : [];
    const deadlineMs = Number(m['deadlineMs']) || Date.now();
    return { ...(await server.migrateConnections(targets, deadlineMs)) };
  });
  onControllerMessage(UpgradeRequest.Counters, (_m, server) => ({ counters: server.stats.counterEntries() as CounterEntry[] }));
  onControllerMessage(UpgradeRequest.Receive, (m, server) => {
    const names = new Map<string, string>(Array.isArray(m['names']) ? (m['names'] as [string, string][]) : []);
    return { path: server.openConnectionTarget(String(m['udsDir']), names) };
  });
  onControllerMessage(UpgradeRequest.ReceiveEnd, (_m, server) => ({ adopted: server.closeConnectionTarget() }));
}
