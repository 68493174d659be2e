/**
 * Observability layer: one listener's access logs. `createAccessLogSink` compiles each configured
 * format once and binds it to the shared asynchronous output for its path (LogOutputs: one writer
 * per path, shared across listeners and with the process log, reopened on SIGUSR1). A plug-in
 * calls `log(getter)` once per connection or request, at its end; `enabled` is false when the
 * listener has no access log, so the plug-in can skip building the getter altogether.
 */
import type { AccessLogConfig } from '../../api/config.js';
import type { AccessLogSink, VariableGetter } from '../../api/observability.js';
import type { LogOutput, LogOutputs } from '../log/log-outputs.js';
import { compileAccessLogFormat, DEFAULT_ACCESS_LOG_FORMAT, type AccessLogFormatter } from './access-log-format.js';

interface BoundLog {
  readonly format: AccessLogFormatter;
  readonly output: LogOutput;
}

class CompiledAccessLogSink implements AccessLogSink {
  readonly enabled: boolean;
  readonly #logs: readonly BoundLog[];
  constructor(logs: readonly BoundLog[]) {
    this.#logs = logs;
    this.enabled = logs.length > 0;
  }
  log(vars: VariableGetter): void {
    for (const l of this.#logs) {
      let line: string;
      try {
        line = l.format(vars);
      } catch {
        // A throwing getter is a plug-in bug; the data plane must not throw because of a log line.
        continue;
      }
      l.output.write(line + '\n');
    }
  }
}

/** A sink with nothing configured. */
export const DISABLED_ACCESS_LOG: AccessLogSink = new CompiledAccessLogSink([]);

/** Compiles `configs` once; files are opened (and created) now, so a bad path fails at config time. */
export function createAccessLogSink(configs: readonly AccessLogConfig[], outputs: LogOutputs): AccessLogSink {
  if (configs.length === 0) return DISABLED_ACCESS_LOG;
  return new CompiledAccessLogSink(
    configs.map((c) => ({
      format: compileAccessLogFormat(c.format === '' ? DEFAULT_ACCESS_LOG_FORMAT : c.format),
      output: outputs.open(c.path),
    })),
  );
}
