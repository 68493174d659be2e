/** Observability layer: the public surface (stats store, process logs, access logs). */
export { StatsStore, labelKey, type CounterEntry, type StatsSnapshot } from './stats.js';
export { LogOutputs, type LogOutput, type LogOutputsOptions } from './log/log-outputs.js';
export { ProcessLogger, type ProcessLoggerOptions } from './log/process-logger.js';
export { LoggerRegistry, type LevelControl } from './log/logger-registry.js';
export { LEVEL_VALUES, parseLogLevel, mosnLevelName } from './log/levels.js';
export {
  compileAccessLogFormat,
  parseAccessLogFormat,
  DEFAULT_ACCESS_LOG_FORMAT,
  type AccessLogFormatter,
} from './access-log/access-log-format.js';
export { createAccessLogSink, DISABLED_ACCESS_LOG } from './access-log/access-log-sink.js';
