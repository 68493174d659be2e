/** Server layer: the pid file, written only when the config names `pid`, removed at stop. */
import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ErrorCode, SkiffError } from '../base/errors.js';

export class PidFile {
  readonly path: string;
  constructor(path: string, baseDir: string) {
    this.path = resolve(baseDir, path);
  }
  write(): void {
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      writeFileSync(this.path, `${process.pid}\n`);
    } catch (err) {
      throw new SkiffError(ErrorCode.Config, `cannot write pid file "${this.path}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
    }
  }
  /** Removes the file if it still holds our pid (never another process's). */
  remove(): void {
    try {
      if (readFileSync(this.path, 'utf8').trim() === String(process.pid)) unlinkSync(this.path);
    } catch {
      /* gone already */
    }
  }
}
