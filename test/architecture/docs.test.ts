/**
 * The documentation holds together: README.md is a short front door that links every page of docs/,
 * each page opens with its title and a one-line summary, and every relative link of README.md and
 * docs/*.md names a file that exists and, with a #fragment, a heading (or an explicit anchor) of it.
 * Anchors follow GitHub's rule, so the links work where the pages are read.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const README = 'README.md';
/** The front door stays a front door: what the platform does, the two commands, pictures and a map. */
const README_MAX_LINES = 250;

interface Link {
  file: string;
  line: number;
  target: string;
}

function docPages(): string[] {
  return fs
    .readdirSync(path.join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`)
    .sort();
}

function read(file: string): string {
  return fs.readFileSync(path.join(ROOT, file), 'utf8');
}

/** Text outside fenced code blocks, line by line (links and headings inside code are not links). */
function proseLines(text: string): { text: string; number: number }[] {
  let fenced = false;
  return text.split('\n').flatMap((line, index) => {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      return [];
    }
    return fenced ? [] : [{ text: line, number: index + 1 }];
  });
}

/** GitHub's heading anchor: lower case, punctuation dropped (letters of any script, digits, `_` and `-` kept), spaces to `-`. */
function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}_\- ]/gu, '')
    .replace(/ /g, '-');
}

function anchorsOf(file: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const { text } of proseLines(read(file))) {
    const heading = /^#{1,6}\s+(.*)$/.exec(text);
    if (heading) {
      const base = headingAnchor(heading[1]);
      const count = seen.get(base) ?? 0;
      seen.set(base, count + 1);
      anchors.add(count === 0 ? base : `${base}-${count}`);
    }
    for (const explicit of text.matchAll(/<a id="([^"]+)"><\/a>/g)) anchors.add(explicit[1]);
  }
  return anchors;
}

function linksOf(file: string): Link[] {
  return proseLines(read(file)).flatMap(({ text, number }) =>
    [...text.matchAll(/\]\(([^)\s]+)\)/g)]
      .map((match) => match[1])
      .filter((target) => !/^[a-z]+:/i.test(target))
      .map((target) => ({ file, line: number, target })),
  );
}

/** What is wrong with a relative link, or null when it resolves. */
function brokenLink(link: Link): string | null {
  const [pathPart, fragment] = link.target.split('#', 2);
  const resolved = pathPart === '' ? link.file : path.posix.normalize(path.posix.join(path.posix.dirname(link.file), pathPart));
  if (resolved.startsWith('..')) return `${link.target} leaves the repository`;
  if (!fs.existsSync(path.join(ROOT, resolved))) return `${link.target}: no file ${resolved}`;
  if (fragment === undefined) return null;
  if (!resolved.endsWith('.md')) return `${link.target}: a fragment on a file that has no headings`;
  return anchorsOf(resolved).has(fragment) ? null : `${link.target}: ${resolved} has no heading or anchor "${fragment}"`;
}

describe('the documentation', () => {
  const files = [README, ...docPages()];

  it('has one page per topic in docs/, each linked from README.md', () => {
    const pages = docPages();
    expect(pages).toEqual(
      expect.arrayContaining(
        [
          'import',
          'graphql-api',
          'training-and-serving',
          'onnx',
          'weights',
          'gpu-deployment',
          'security',
          'performance',
          'development',
        ].map((topic) => `docs/${topic}.md`),
      ),
    );
    const linked = new Set(linksOf(README).map((link) => link.target.split('#')[0]));
    expect(pages.filter((page) => !linked.has(page))).toEqual([]);
  });

  it(`keeps README.md a front door of at most ${README_MAX_LINES} lines with the two commands`, () => {
    const text = read(README);
    expect(text.split('\n').length).toBeLessThanOrEqual(README_MAX_LINES);
    expect(text).toContain('npm run demo');
    expect(text).toContain('npm test');
  });

  it('opens every page of docs/ with its title and a one-line summary', () => {
    const badOpenings = docPages().filter((page) => {
      const [title, blank, summary, after] = read(page).split('\n');
      return !/^# \S/.test(title) || blank !== '' || !/^[A-Z`].*\.$/.test(summary ?? '') || after !== '';
    });
    expect(badOpenings).toEqual([]);
  });

  it('has no broken relative link or anchor', () => {
    const links = files.flatMap(linksOf);
    expect(links.length).toBeGreaterThan(30);
    const broken = links.flatMap((link) => {
      const problem = brokenLink(link);
      return problem ? [`${link.file}:${link.line}: ${problem}`] : [];
    });
    expect(broken).toEqual([]);
  });

  it('the link check itself catches a missing file, a missing anchor and a link out of the repository', () => {
    expect(headingAnchor('Is the GPU used? `kfashion doctor`')).toBe('is-the-gpu-used-kfashion-doctor');
    expect(headingAnchor('Batch prediction on ONNX Runtime (CUDA 12)')).toBe('batch-prediction-on-onnx-runtime-cuda-12');
    expect(brokenLink({ file: README, line: 1, target: 'docs/import.md' })).toBeNull();
    expect(brokenLink({ file: 'docs/import.md', line: 1, target: '../bench/RESULTS.md#import' })).toBeNull();
    expect(brokenLink({ file: README, line: 1, target: 'docs/nowhere.md' })).toMatch(/no file docs\/nowhere\.md/);
    expect(brokenLink({ file: README, line: 1, target: 'docs/import.md#no-such-heading' })).toMatch(/no heading or anchor/);
    expect(brokenLink({ file: 'docs/import.md', line: 1, target: '../../outside.md' })).toMatch(/leaves the repository/);
  });
});
