/**
 * Child process of the import: parses the chunks of annotation files it is sent over IPC, in order.
 * A process and not a worker thread, because a worker that exhausts its heap can abort the whole
 * process (worker resourceLimits are best-effort; seen on Node.js 24.21), and a file that does so
 * must cost only its own parse.
 */
import { parseFileAt } from './parse-file';

export interface ParseRequest {
  id: number;
  root: string;
  files: string[];
  maxFileBytes: number;
}

process.on('message', (request: ParseRequest) => {
  process.send!({ id: request.id, results: request.files.map((file) => parseFileAt(request.root, file, request.maxFileBytes)) });
});
// The import stopping (or dying) closes the IPC channel: nothing is left to parse for.
process.on('disconnect', () => process.exit(0));
