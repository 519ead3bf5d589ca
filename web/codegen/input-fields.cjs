/**
 * A graphql-codegen plugin: the fields of the named input types (name, description, named type,
 * list, required, default) and the values of the enums they use, as constants, so the console can
 * build a form for an input type from schema.graphql without asking the server (introspection is
 * off in production). Config: { inputTypes: ['StartTrainingInput', ...] }.
 */
'use strict';
const { getNamedType, isEnumType, isInputObjectType, isListType, isNonNullType, print, astFromValue } = require('graphql');

function describeField(field) {
  const required = isNonNullType(field.type);
  const nullable = required ? field.type.ofType : field.type;
  const named = getNamedType(field.type);
  const kind = isEnumType(named) ? 'ENUM' : isInputObjectType(named) ? 'INPUT_OBJECT' : 'SCALAR';
  const defaultAst = field.defaultValue === undefined ? null : astFromValue(field.defaultValue, field.type);
  return {
    name: field.name,
    description: field.description ?? null,
    kind,
    type: named.name,
    list: isListType(nullable),
    required,
    defaultValue: defaultAst ? print(defaultAst) : null,
  };
}

const SHAPE = `/** One field of an input type; \`type\` is the named type under any list and non-null wrappers. */
export interface InputFieldShape<Name extends string = string> {
  name: Name;
  description: string | null;
  kind: 'SCALAR' | 'ENUM' | 'INPUT_OBJECT';
  type: string;
  list: boolean;
  required: boolean;
  defaultValue: string | null;
}`;

function lowerFirst(text) {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

module.exports = {
  plugin(schema, _documents, config) {
    const typeNames = config.inputTypes ?? [];
    if (!Array.isArray(typeNames) || typeNames.length === 0) {
      throw new Error('input-fields plugin: config.inputTypes must list at least one input type name');
    }
    const parts = [];
    const enums = new Map();
    for (const typeName of typeNames) {
      const type = schema.getType(typeName);
      if (!isInputObjectType(type))
        throw new Error(`input-fields plugin: config.inputTypes names ${typeName}, which is not an input type of the schema`);
      const fields = Object.values(type.getFields());
      for (const field of fields) {
        const named = getNamedType(field.type);
        if (isEnumType(named))
          enums.set(
            named.name,
            named.getValues().map((value) => value.name),
          );
      }
      const fieldsType = `readonly InputFieldShape<keyof ${typeName}>[]`;
      parts.push(`export const ${lowerFirst(typeName)}Fields: ${fieldsType} = ${JSON.stringify(fields.map(describeField), null, 2)};`);
    }
    const enumValues = Object.fromEntries([...enums].sort(([a], [b]) => a.localeCompare(b)));
    parts.push(`export const inputEnumValues: Readonly<Record<string, readonly string[]>> = ${JSON.stringify(enumValues, null, 2)};`);
    return (
      [
        '/* Generated from schema.graphql by web/codegen/input-fields.cjs (npm run codegen): do not edit. */',
        `import type { ${typeNames.join(', ')} } from './graphql';`,
        SHAPE,
        ...parts,
      ].join('\n\n') + '\n'
    );
  },
};
