/** Paths that a client names, kept inside the folder the server allows for them. */
import * as fs from 'node:fs';
import * as path from 'node:path';

export function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/**
 * `requested` (relative to `root`, or absolute) as an absolute path inside `root`, or null when it
 * is outside: by its text, and, when it exists here, also after following symbolic links. A path
 * that does not exist here is judged by its text alone (it may name a file on another machine
 * that shares the folder, such as a model server).
 */
export async function confinedPath(root: string, requested: string): Promise<string | null> {
  if (requested.includes('\0')) return null;
  const resolved = path.resolve(root, requested);
  if (!isInside(path.resolve(root), resolved)) return null;
  const real = await fs.promises.realpath(resolved).catch(() => null);
  if (real === null) return resolved;
  const realRoot = await fs.promises.realpath(root).catch(() => path.resolve(root));
  return isInside(realRoot, real) ? resolved : null;
}
