/**
 * A clone works wherever it lands: no tracked file reads a folder beside the repository or an
 * absolute path of one machine. Everything the tests and benches read is kept in the repository
 * (the real K-Fashion samples in test/fixtures/kfashion-samples).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SAMPLES_DIR, SAMPLE_IDS } from '../support/samples';

const ROOT = path.resolve(__dirname, '../..');
const CHECKED_FOLDERS = ['src', 'test', 'bench', 'tools', '.ci', 'docker', 'web', 'docs', 'bin', 'migrations'];
const CHECKED_TOP_FILES = ['README.md', 'package.json', 'tsconfig.json', 'jest.config.js'];

/** Paths that exist only on some machine: a sibling `shared` folder, or a home, work or user folder. */
const OUTSIDE_PATH = /\.\.\/shared\b|(?<![\w.])\/(?:work|root|home|Users)\/[\w.-]/;

function outsidePathLines(file: string, text: string): string[] {
  return text
    .split('\n')
    .map((line, index) => ({ line, number: index + 1 }))
    .filter(({ line }) => OUTSIDE_PATH.test(line))
    .map(({ line, number }) => `${file}:${number}: ${line.trim().slice(0, 160)}`);
}

function trackedFiles(): string[] {
  const listed = execFileSync('git', ['ls-files', '-z', '--', ...CHECKED_FOLDERS, ...CHECKED_TOP_FILES], { cwd: ROOT }).toString();
  return listed
    .split('\0')
    .filter(
      (file) => file && /\.(ts|tsx|mts|js|cjs|mjs|json|py|sh|md|yaml|yml|toml|sql|html|css)$|(^|\/)(run|Dockerfile[\w.-]*)$/.test(file),
    );
}

describe('the repository is self-contained', () => {
  it('keeps the three real K-Fashion samples, photos and labels, inside the repository', () => {
    expect(path.relative(ROOT, SAMPLES_DIR)).toBe(path.join('test', 'fixtures', 'kfashion-samples'));
    for (const id of SAMPLE_IDS) {
      for (const extension of ['jpg', 'json']) expect(fs.statSync(path.join(SAMPLES_DIR, `${id}.${extension}`)).isFile()).toBe(true);
    }
  });

  it('no tracked source, test, bench, tool, CI or doc file names a path outside the repository', () => {
    const files = trackedFiles();
    expect(files.length).toBeGreaterThan(200);
    const offending = files
      .filter((file) => fs.existsSync(path.join(ROOT, file)))
      .flatMap((file) => outsidePathLines(file, fs.readFileSync(path.join(ROOT, file), 'utf8')));
    expect(offending).toEqual([]);
  });

  it('the check itself catches a sibling shared folder and machine paths, and leaves relative and system paths', () => {
    const caught = (line: string) => outsidePathLines('x.ts', line).length === 1;
    // Built from parts, so that this file holds no such path itself.
    const sibling = ['..', '..', '..', 'shared', 'kfashion-samples'].join('/');
    const machine = ['', 'work', 'shared', 'kfashion-samples', '1.jpg'].join('/');
    expect(caught(`path.resolve(__dirname, '${sibling}')`)).toBe(true);
    expect(caught(`const SAMPLE = '${machine}';`)).toBe(true);
    expect(caught(`binaries from ${['', 'root', 'project', 'node_modules', 'x'].join('/')}`)).toBe(true);
    expect(caught(`'${['', 'home', 'user', 'data'].join('/')}'`)).toBe(true);
    expect(caught("path.join(ROOT, 'test/fixtures/kfashion-samples')")).toBe(false);
    expect(caught("'/usr/bin/python3'")).toBe(false);
    expect(caught('a process/worker pair')).toBe(false);
  });
});
