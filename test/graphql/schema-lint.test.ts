/**
 * schema.graphql passes graphql-schema-linter with every built-in rule: descriptions on every type,
 * field, argument, input field and enum value, and the Relay rules (connection types and arguments,
 * PageInfo).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { printApiSchema } from '../../src/graphql/schema';

// The linter ships no type declarations: its modules are required, and typed where they are used.
/* eslint-disable @typescript-eslint/no-require-imports */
const { Configuration } = require('graphql-schema-linter/lib/configuration');
const { validateSchemaDefinition } = require('graphql-schema-linter/lib/validator');
const { SourceMap } = require('graphql-schema-linter/lib/source_map');
/* eslint-enable @typescript-eslint/no-require-imports */

function lint(sdl: string): { rule: string; message: string }[] {
  const schema = { definition: sdl, sourceMap: new SourceMap({ 'schema.graphql': sdl }) };
  const configuration = new Configuration(schema, {});
  const rules: { name: string }[] = configuration.getRules();
  expect(rules.map((rule) => rule.name)).toEqual(
    expect.arrayContaining([
      'FieldsHaveDescriptions',
      'ArgumentsHaveDescriptions',
      'RelayConnectionTypesSpec',
      'RelayConnectionArgumentsSpec',
      'RelayPageInfoSpec',
    ]),
  );
  return validateSchemaDefinition(schema, rules, configuration).map((error: { ruleName: string; message: string }) => ({
    rule: error.ruleName,
    message: error.message,
  }));
}

it('finds nothing in schema.graphql', () => {
  const sdl = fs.readFileSync(path.resolve(__dirname, '../../schema.graphql'), 'utf8');
  expect(sdl).toBe(printApiSchema());
  expect(lint(sdl)).toEqual([]);
});

it('finds a field without a description (the check is live)', () => {
  const sdl = printApiSchema().replace(/ {2}"""Width in pixels\."""\n/, '');
  expect(lint(sdl)).toEqual([{ rule: 'fields-have-descriptions', message: 'The field `Image.width` is missing a description.' }]);
});
