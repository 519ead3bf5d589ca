/**
 * The lint and format checks stay part of `npm test`, and every rule exception in the code says why
 * (docs/development.md, "Lint"): an `eslint-disable` comment carries `-- reason`, or stands right
 * under a comment that gives it.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const SOURCE = /\.(ts|tsx|mts|js|cjs|mjs)$/;
const DIRECTIVE = /(?:\/\/|\/\*)\s*eslint-disable(?:-next-line|-line)?\b/;

/** `file:line` of each eslint-disable directive with neither a `-- reason` nor a comment just above it. */
function unexplainedDisables(file: string, text: string): string[] {
  const lines = text.split('\n');
  return lines.flatMap((line, index) => {
    if (!DIRECTIVE.test(line) || / -- \S/.test(line)) return [];
    const above = (lines[index - 1] ?? '').trim();
    const explained = (above.startsWith('//') || above.startsWith('*') || above.startsWith('/*')) && !DIRECTIVE.test(above);
    return explained ? [] : [`${file}:${index + 1}`];
  });
}

function trackedSources(): string[] {
  return execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' })
    .split('\n')
    .filter((file) => SOURCE.test(file) && !file.startsWith('web/src/gql/'));
}

describe('lint and format', () => {
  it('npm test runs the lint and the format check before jest', () => {
    const scripts = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    const steps = scripts.test.split('&&').map((step) => step.trim());
    const jest = steps.findIndex((step) => /\bjest\b/.test(step));
    expect(jest).toBeGreaterThan(-1);
    expect(steps.indexOf('npm run lint')).toBeGreaterThan(-1);
    expect(steps.indexOf('npm run lint')).toBeLessThan(jest);
    expect(steps.indexOf('npm run format:check')).toBeGreaterThan(-1);
    expect(steps.indexOf('npm run format:check')).toBeLessThan(jest);
    expect(scripts['format:check']).toMatch(/^prettier --check /);
  });

  it('every eslint-disable comment in the tree says why', () => {
    const files = trackedSources();
    expect(files.length).toBeGreaterThan(300);
    expect(files.flatMap((file) => unexplainedDisables(file, fs.readFileSync(path.join(ROOT, file), 'utf8')))).toEqual([]);
  });

  it('the checker tells an explained exception from a bare one', () => {
    // Built from parts, so that this file's own examples are no directives of its own.
    const disable = ['eslint', 'disable'].join('-');
    const nextLine = `// ${disable}-next-line @typescript-eslint/no-explicit-any`;
    const bare = ['const a = 1;', nextLine, 'let b: any;'].join('\n');
    expect(unexplainedDisables('x.ts', bare)).toEqual(['x.ts:2']);
    const inline = [`${nextLine} -- a JSON answer`, 'let b: any;'].join('\n');
    expect(unexplainedDisables('x.ts', inline)).toEqual([]);
    const above = ['// A JSON answer of unknown shape.', nextLine, 'let b: any;'].join('\n');
    expect(unexplainedDisables('x.ts', above)).toEqual([]);
    const stacked = [`// ${disable}-next-line no-console`, nextLine, 'let b: any;'].join('\n');
    expect(unexplainedDisables('x.ts', stacked)).toEqual(['x.ts:1', 'x.ts:2']);
    const block = [`/* ${disable} @typescript-eslint/no-require-imports */`, 'const x = require("x");'].join('\n');
    expect(unexplainedDisables('x.ts', block)).toEqual(['x.ts:1']);
  });
});
