/**
 * The GraphQL documents the commands and the benchmarks send to the API (the demo's training run, its
 * subscription, its activation and prediction) are valid against the schema. Without this, a schema change
 * shows only when the slow end-to-end demo runs (a `params` that became an object broke the demo that way).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildSchema, parse, validate } from 'graphql';
import * as ts from 'typescript';

const ROOT = path.resolve(__dirname, '../..');
const FOLDERS = ['src/cli', 'bench'];
const OPERATION_START = /^\s*(\{|query\b|mutation\b|subscription\b)/;

function sourceFiles(folder: string): string[] {
  return fs
    .readdirSync(path.join(ROOT, folder), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => path.join(folder, file));
}

/** The string literals of a file (template literals without substitutions included) that read as GraphQL operations. */
function operationsOf(file: string): { where: string; text: string }[] {
  const source = ts.createSourceFile(file, fs.readFileSync(path.join(ROOT, file), 'utf8'), ts.ScriptTarget.Latest, true);
  const found: { where: string; text: string }[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) && OPERATION_START.test(node.text)) {
      try {
        parse(node.text);
        found.push({ where: `${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`, text: node.text });
      } catch {
        // A string that starts like an operation but is not GraphQL (JSON, a message): not ours to check.
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

it('every GraphQL operation of the commands and benchmarks validates against schema.graphql', () => {
  const schema = buildSchema(fs.readFileSync(path.join(ROOT, 'schema.graphql'), 'utf8'));
  const operations = FOLDERS.flatMap(sourceFiles).flatMap(operationsOf);
  expect(operations.filter((operation) => operation.where.startsWith('src/cli/demo-run.ts')).length).toBeGreaterThanOrEqual(5);
  const invalid = operations.flatMap(({ where, text }) => validate(schema, parse(text)).map((error) => `${where}: ${error.message}`));
  expect(invalid).toEqual([]);
});

it('the check sees a field that needs a selection', () => {
  const schema = buildSchema(fs.readFileSync(path.join(ROOT, 'schema.graphql'), 'utf8'));
  const errors = validate(schema, parse('{ trainingRuns(first: 1) { edges { node { id params } } } }')).map((error) => error.message);
  expect(errors).toEqual([expect.stringMatching(/Field "params" of type "TrainingRunParams!" must have a selection of subfields/)]);
});
