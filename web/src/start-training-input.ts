/**
 * The Start training form's values as a StartTrainingInput: each field's text (or ticked enum
 * values) turned into the GraphQL value its type in schema.graphql takes, or a FieldProblem
 * naming the field whose text is not of that type.
 */
import type { StartTrainingInput } from './gql/graphql';
import { InputFieldShape, inputEnumValues, startTrainingInputFields } from './gql/input-fields';

export type StartTrainingField = InputFieldShape<keyof StartTrainingInput>;

export class FieldProblem extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export function enumValuesOf(field: StartTrainingField): readonly string[] {
  return inputEnumValues[field.type] ?? [];
}

/** One value of a scalar field from its text, or a FieldProblem naming the field. */
function scalarValue(field: StartTrainingField, part: string): unknown {
  if (field.type === 'Int') {
    if (!/^-?\d+$/.test(part)) throw new FieldProblem(field.name, `${field.name}: "${part}" is not a whole number`);
    return Number(part);
  }
  if (field.type === 'Float') {
    const value = Number(part);
    if (part === '' || !Number.isFinite(value)) throw new FieldProblem(field.name, `${field.name}: "${part}" is not a number`);
    return value;
  }
  if (field.type === 'JSONObject') {
    try {
      const value: unknown = JSON.parse(part);
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
      return value;
    } catch {
      throw new FieldProblem(field.name, `${field.name}: not a JSON object`);
    }
  }
  return part;
}

/** One field's text (or ticked enum values) as the GraphQL value, or undefined when left empty. */
function fieldValue(field: StartTrainingField, text: string, ticked: readonly string[]): unknown {
  if (field.kind === 'ENUM') return field.list ? (ticked.length ? ticked : undefined) : text || undefined;
  if (text.trim() === '') return undefined;
  return field.list ? text.split(',').map((part) => scalarValue(field, part.trim())) : scalarValue(field, text.trim());
}

/** The input object of the filled-in form; throws a FieldProblem for the first value of a wrong type. */
export function startTrainingInput(texts: Record<string, string>, ticks: Record<string, string[]>): StartTrainingInput {
  const input: Record<string, unknown> = {};
  for (const field of startTrainingInputFields) {
    const value = fieldValue(field, texts[field.name] ?? '', ticks[field.name] ?? []);
    if (value !== undefined) input[field.name] = value;
  }
  return input;
}
