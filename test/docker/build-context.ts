/**
 * The build context Docker sends for docker/*.Dockerfile (context: the repository root) when the images are built
 * from a clean checkout: the files `git ls-files` lists (untracked and ignored files are not in a clean checkout)
 * minus what .dockerignore excludes, with Docker's matching rules (moby/patternmatcher): a pattern is matched
 * against the whole slash-separated path and against each of its parent folders (excluding a folder excludes what
 * is in it), `*` and `?` stop at `/`, `**` spans folders, a leading `!` re-includes, and the last matching
 * pattern decides.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';

interface IgnorePattern {
  regex: RegExp;
  exclude: boolean;
}

function patternRegex(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*' && pattern[i + 1] === '*') {
      // "**/" matches zero or more folders; a trailing "**" anything.
      source += pattern[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += pattern[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

export function parseDockerignore(text: string): IgnorePattern[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const exclude = !line.startsWith('!');
      const cleaned = posix.normalize((exclude ? line : line.slice(1)).trim()).replace(/^\/+|\/+$/g, '');
      return { regex: patternRegex(cleaned), exclude };
    });
}

/** Whether Docker leaves `file` (a path relative to the context) out of the context. */
export function isExcluded(file: string, patterns: readonly IgnorePattern[]): boolean {
  const parts = file.split('/');
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let excluded = false;
  for (const { regex, exclude } of patterns) {
    if (candidates.some((candidate) => regex.test(candidate))) excluded = exclude;
  }
  return excluded;
}

/** The files of the repository's index (a clean checkout), relative to `root`. */
export function checkoutFiles(root: string): string[] {
  const result = spawnSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`git ls-files failed in ${root}: ${result.stderr}`);
  return result.stdout.split('\0').filter((f) => f !== '');
}

/** The files a build from a clean checkout of `root` sends to Docker. */
export function buildContext(root: string): string[] {
  const patterns = parseDockerignore(readFileSync(join(root, '.dockerignore'), 'utf8'));
  return checkoutFiles(root).filter((file) => !isExcluded(file, patterns));
}

/** The context files a COPY source takes: the file itself, or everything under the folder. */
export function filesOfSource(source: string, context: readonly string[]): string[] {
  const cleaned = posix.normalize(source).replace(/^\.\/|\/$/g, '');
  return context.filter((file) => file === cleaned || file.startsWith(`${cleaned}/`));
}
