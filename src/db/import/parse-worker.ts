/** Worker thread of the import: parses the chunks of annotation files it is sent, in order. */
import { parentPort } from 'node:worker_threads';
import { parseFileAt } from './parse-file';

export interface ParseRequest {
  id: number;
  root: string;
  files: string[];
  maxFileBytes: number;
}

parentPort!.on('message', (request: ParseRequest) => {
  parentPort!.postMessage({ id: request.id, results: request.files.map((file) => parseFileAt(request.root, file, request.maxFileBytes)) });
});
