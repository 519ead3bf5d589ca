/**
 * The layering stays true: a forbidden import anywhere in src/ (or raw SQL outside src/db) fails this
 * test, naming the file, line and rule. The rules are in import-rules.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { importsOf, importViolations, queryCallViolations, typescriptFiles, type Violation } from './import-rules';

const ROOT = path.resolve(__dirname, '../..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
const report = (violations: Violation[]) => violations.map((v) => `${v.where}: ${v.rule}: ${v.detail}`);

describe('import rules over src/', () => {
  const files = typescriptFiles(ROOT, 'src');

  it('reads the whole tree', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(files).toContain('src/ml/data/dataset.ts');
  });

  it('no module imports across a forbidden edge', () => {
    const edges = files.flatMap((file) => importsOf(file, read(file)));
    expect(report(importViolations(edges))).toEqual([]);
  });

  it('no .query( outside src/db and migrations (application and tools code)', () => {
    const sources = [...files, ...typescriptFiles(ROOT, 'tools')].map((file) => ({ path: file, text: read(file) }));
    expect(report(queryCallViolations(sources))).toEqual([]);
  });
});

describe('the rule checker itself', () => {
  const violationsOf = (file: string, text: string) => importViolations(importsOf(file, text)).map((v) => v.detail);

  it('sees static, type-only, re-exported, dynamic and require imports, resolved from the importing file', () => {
    const text = [
      "import { a } from '../db/search';",
      "import type { B } from '../../db/leases';",
      "import { type C, type D } from 'typeorm';",
      "export { e } from '../../graphql/schema';",
      "const f = await import('../../model-server/server');",
      "const g = require('pg');",
      "type H = import('../../cli/main').Main;",
    ].join('\n');
    const edges = importsOf('src/ml/data/example.ts', text);
    expect(edges.map((e) => [e.target, e.typeOnly, e.line])).toEqual([
      ['src/ml/db/search', false, 1],
      ['src/db/leases', true, 2],
      ['typeorm', true, 3],
      ['src/graphql/schema', false, 4],
      ['src/model-server/server', false, 5],
      ['pg', false, 6],
      ['src/cli/main', true, 7],
    ]);
    expect(violationsOf('src/ml/data/example.ts', text)).toEqual([
      "imports src/db ('../../db/leases', type-only)",
      "imports typeorm ('typeorm', type-only)",
      "imports src/graphql ('../../graphql/schema')",
      "imports src/model-server ('../../model-server/server')",
      "imports pg ('pg')",
      "imports src/cli ('../../cli/main', type-only)",
      "imports src/cli/main ('../../cli/main')",
    ]);
  });

  it('lets src/db import src/ml types only, and src/cli import anything', () => {
    expect(violationsOf('src/db/x.ts', "import type { LabelSpace } from '../ml/data/dataset';")).toEqual([]);
    expect(violationsOf('src/db/x.ts', "import { buildLabelSpace } from '../ml/data/dataset';")).toEqual(["imports src/ml ('../ml/data/dataset')"]);
    expect(violationsOf('src/cli/x.ts', "import { a } from '../model-server/server';\nimport { b } from './train';")).toEqual([]);
    expect(violationsOf('src/graphql/x.ts', "import { claim } from '../db/leases';")).toEqual([]);
    expect(violationsOf('src/graphql/x.ts', "import { claim } from '../model-server/watchdog';")).toEqual([
      "imports src/model-server ('../model-server/watchdog')",
    ]);
  });

  it('finds .query( outside src/db and migrations only', () => {
    const found = queryCallViolations([
      { path: 'src/db/search.ts', text: 'await dataSource.query(sql)' },
      { path: 'migrations/1-x.ts', text: 'await runner.query(sql)' },
      { path: 'src/graphql/resolvers.ts', text: 'ok\n  await ctx.dataSource.query(`SELECT 1`)' },
    ]);
    expect(found.map((v) => v.where)).toEqual(['src/graphql/resolvers.ts:2']);
  });
});
