/**
 * What a reader below the admin role sees of a training run's log and error: the words of each line
 * without their raw detail (RUN_LOG_DETAIL onwards), absolute paths shortened to their last part,
 * worker names (host:pid) replaced, and Node's system errors reduced to their plain description. Admins
 * read the log as stored, since they are the ones who debug the model servers.
 */
import type { Role } from '../../auth/roles';
import { RUN_LOG_DETAIL } from '../../db/training-progress';

/** `/srv/data/x.jpg` → `…/x.jpg` (not after a word character, so `a/b` and URLs' hosts stay). */
const ABSOLUTE_PATH = /(?<![\w.~-])\/(?:[^\s/'"():,;]+\/)*([^\s/'"():,;]+)/g;
/** A worker name as the model servers make it (host:pid); not inside a timestamp, whose letters follow digits. */
const WORKER_NAME = /(?<![\w.:/-])[A-Za-z][\w.-]*:\d+\b/g;
/** `ENOENT: no such file or directory, open '/x'` → `no such file or directory`. */
const NODE_SYSTEM_ERROR = /\bE[A-Z]{2,}: ([^,\n]+), \w+(?: '[^']*')?(?: -> '[^']*')?/g;

function viewerLine(line: string): string {
  const detail = line.indexOf(RUN_LOG_DETAIL);
  const words = detail < 0 ? line : line.slice(0, detail);
  return words.replace(NODE_SYSTEM_ERROR, '$1').replace(ABSOLUTE_PATH, '…/$1').replace(WORKER_NAME, 'a model server');
}

/** `text` (a run log or error) as `role` may read it. */
export function runTextFor(role: Role | null, text: string): string {
  return role === 'admin' ? text : text.split('\n').map(viewerLine).join('\n');
}
