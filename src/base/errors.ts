/**
 * Base layer: error classes with stable codes. The data plane never throws these at runtime (it
 * returns a status and resets or replies locally); config and CLI code throws them at load time.
 */

/** Stable error codes: logs, admin replies and tests match on these, never on message text. */
export const ErrorCode = {
  Config: 'E_CONFIG',
  ConfigFile: 'E_CONFIG_FILE',
  ConfigSyntax: 'E_CONFIG_SYNTAX',
  Unsupported: 'E_UNSUPPORTED',
  Registry: 'E_REGISTRY',
  AddressInUse: 'E_ADDR_IN_USE',
  Bind: 'E_BIND',
  Update: 'E_UPDATE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class SkiffError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'SkiffError';
  }
}

/** One problem found in a config document, located by its JSON path (`servers[0].listeners[1].address`). */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

/** Thrown at load time: one or more config errors, each naming its JSON path. */
export class ConfigError extends SkiffError {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[] | ConfigIssue) {
    const list = Array.isArray(issues) ? (issues as readonly ConfigIssue[]) : [issues as ConfigIssue];
    super(ErrorCode.Config, list.map(formatIssue).join('\n'));
    this.issues = list;
    this.name = 'ConfigError';
  }
}

/** `path: message`, or just the message for a document-level problem. */
export function formatIssue(issue: ConfigIssue): string {
  return issue.path ? `${issue.path}: ${issue.message}` : issue.message;
}
