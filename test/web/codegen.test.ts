/**
 * The console's typed documents (web/src/gql/, `npm run codegen`) must be what graphql-codegen
 * makes from schema.graphql and the documents in web/src today, so a changed schema or document
 * cannot ship with stale types; and the input-fields plugin describes an input type as the
 * schema has it.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildSchema } from 'graphql';
import { GENERATED_DIR } from '../../web/codegen';

const REPO_ROOT = path.resolve(__dirname, '../..');
/** What `npm run codegen` reads: the schema, the config with its plugin, and the documents in web/src. */
const CODEGEN_INPUTS = ['schema.graphql', 'web/codegen.ts', 'web/codegen', 'web/src'];

function filesUnder(dir: string): Map<string, string> {
  return new Map(
    fs
      .readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => {
        const file = path.join(entry.parentPath, entry.name);
        return [path.relative(dir, file), fs.readFileSync(file, 'utf8')];
      }),
  );
}
// The plugin is plain CommonJS so graphql-codegen can load it by path.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const inputFieldsPlugin = require('../../web/codegen/input-fields.cjs') as {
  plugin: (schema: ReturnType<typeof buildSchema>, documents: unknown[], config: { inputTypes?: unknown }) => string;
};

describe('generated operation types', () => {
  it('web/src/gql is current (regenerate with npm run codegen)', () => {
    // The codegen CLI runs on a copy of its inputs without the generated files, so it makes them afresh.
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'kf-codegen-'));
    try {
      for (const input of CODEGEN_INPUTS) fs.cpSync(path.join(REPO_ROOT, input), path.join(copy, input), { recursive: true });
      fs.rmSync(path.join(copy, GENERATED_DIR), { recursive: true, force: true });
      fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(copy, 'node_modules'));
      execFileSync(
        process.execPath,
        [path.join(REPO_ROOT, 'node_modules/.bin/graphql-codegen'), '--config', 'web/codegen.ts', '--silent'],
        {
          cwd: copy,
          stdio: ['ignore', 'pipe', 'pipe'],
          timeout: 60_000,
        },
      );
      const fresh = filesUnder(path.join(copy, GENERATED_DIR));
      const committed = filesUnder(path.join(REPO_ROOT, GENERATED_DIR));
      expect([...committed.keys()].sort()).toEqual([...fresh.keys()].sort());
      for (const [file, content] of fresh) expect({ file, content: committed.get(file) }).toEqual({ file, content });
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
    }
  });
});

describe('input-fields codegen plugin', () => {
  const schema = buildSchema(`
    enum Shade { LIGHT DARK }
    input Inner { x: Int }
    input Recipe {
      "How many, at least 1."
      count: Int! = 3
      weights: [Float!]
      shades: [Shade!]!
      inner: Inner
      note: String
    }
    type Query { ok: Boolean }
  `);

  it('lists each field with its named type, list and non-null wrappers, default and description, and the enum values', () => {
    const output = inputFieldsPlugin.plugin(schema, [], { inputTypes: ['Recipe'] });
    const literal = (name: string) => JSON.parse(new RegExp(`export const ${name}[^=]*= ([\\s\\S]*?);\\n`).exec(output)![1]);
    expect(output).toContain(`import type { Recipe } from './graphql';`);
    expect(output).toContain('export const recipeFields: readonly InputFieldShape<keyof Recipe>[] =');
    expect(literal('recipeFields')).toEqual([
      { name: 'count', description: 'How many, at least 1.', kind: 'SCALAR', type: 'Int', list: false, required: true, defaultValue: '3' },
      { name: 'weights', description: null, kind: 'SCALAR', type: 'Float', list: true, required: false, defaultValue: null },
      { name: 'shades', description: null, kind: 'ENUM', type: 'Shade', list: true, required: true, defaultValue: null },
      { name: 'inner', description: null, kind: 'INPUT_OBJECT', type: 'Inner', list: false, required: false, defaultValue: null },
      { name: 'note', description: null, kind: 'SCALAR', type: 'String', list: false, required: false, defaultValue: null },
    ]);
    expect(literal('inputEnumValues')).toEqual({ Shade: ['LIGHT', 'DARK'] });
  });

  it('names the config entry or type it cannot use', () => {
    expect(() => inputFieldsPlugin.plugin(schema, [], {})).toThrow('config.inputTypes must list at least one input type name');
    expect(() => inputFieldsPlugin.plugin(schema, [], { inputTypes: ['Shade'] })).toThrow(
      'config.inputTypes names Shade, which is not an input type of the schema',
    );
    expect(() => inputFieldsPlugin.plugin(schema, [], { inputTypes: ['Missing'] })).toThrow('config.inputTypes names Missing');
  });
});
