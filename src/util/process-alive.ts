import * as fs from 'node:fs';

/**
 * Whether a process runs. A killed process whose parent has not reaped it (an orphan under a
 * container's init that never reaps) still answers signal 0 as a zombie: /proc says it is one.
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  let stat = '';
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return true; // no /proc (not Linux): signal 0 is all there is
  }
  // Fields after the parenthesised command name: the first is the state (Z = zombie, X = dead).
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}
