/** Admin handler `/`: the list of supported endpoints, as MOSN prints it. */
import { text, type AdminHandler } from '../admin-handler.js';

export function createIndexHandler(all: () => readonly AdminHandler[]): AdminHandler {
  return {
    path: '/',
    mutating: false,
    description: 'this list',
    handle() {
      const lines = all().map((h) => `${h.path}${h.mutating ? ' (POST, application/json)' : ''}: ${h.description}`);
      return text(200, `supported APIs:\n${lines.join('\n')}\n`);
    },
  };
}
