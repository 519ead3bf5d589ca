/**
 * The form to start a training run, built from the schema: one control per field of the
 * `startTraining` input type (numbers, text, enum lists as checkboxes, JSON objects), each with
 * the field's description. Values are checked for their GraphQL type before sending; everything
 * else is validated by the mutation itself, whose error is shown beside the field it names.
 */
import { FormEvent, useEffect, useState } from 'react';
import { graphql, GraphQLRequestError, namedType, OperationField, TypeRef, typeText } from '../graphql';

interface InputField {
  name: string;
  description: string | null;
  type: TypeRef;
  defaultValue: string | null;
}

interface FormShape {
  argName: string;
  argType: string;
  fields: InputField[];
  enumValues: Record<string, string[]>;
}

const TYPE_REF = 'kind name ofType { kind name ofType { kind name ofType { kind name } } }';

async function formShape(field: OperationField): Promise<FormShape | null> {
  const arg = field.args.find((entry) => namedType(entry.type) !== 'ID') ?? field.args[0];
  if (!arg) return null;
  const data = await graphql<{ __type: { inputFields: InputField[] | null } | null }>(
    `query($name: String!) { __type(name: $name) { inputFields { name description defaultValue type { ${TYPE_REF} } } } }`,
    { name: namedType(arg.type) },
  );
  const fields = data.__type?.inputFields;
  if (!fields) return null;
  const enumValues: Record<string, string[]> = {};
  for (const entry of fields) {
    if (baseKind(entry.type) !== 'ENUM') continue;
    const name = namedType(entry.type);
    const values = await graphql<{ __type: { enumValues: { name: string }[] } }>(`query($name: String!) { __type(name: $name) { enumValues { name } } }`, { name });
    enumValues[name] = values.__type.enumValues.map((value) => value.name);
  }
  return { argName: arg.name, argType: typeText(arg.type), fields, enumValues };
}

function baseKind(type: TypeRef): string {
  return type.ofType && (type.kind === 'NON_NULL' || type.kind === 'LIST') ? baseKind(type.ofType) : type.kind;
}

function isList(type: TypeRef): boolean {
  return type.kind === 'LIST' || (type.kind === 'NON_NULL' && type.ofType?.kind === 'LIST');
}

class FieldProblem extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** One field's text (or ticked enum values) as the GraphQL value, or undefined when left empty. */
function fieldValue(field: InputField, text: string, ticked: string[]): unknown {
  const scalar = namedType(field.type);
  if (baseKind(field.type) === 'ENUM') return isList(field.type) ? (ticked.length ? ticked : undefined) : text || undefined;
  if (text.trim() === '') return undefined;
  const one = (part: string): unknown => {
    if (scalar === 'Int') {
      if (!/^-?\d+$/.test(part)) throw new FieldProblem(field.name, `${field.name}: "${part}" is not a whole number`);
      return Number(part);
    }
    if (scalar === 'Float') {
      const value = Number(part);
      if (part === '' || !Number.isFinite(value)) throw new FieldProblem(field.name, `${field.name}: "${part}" is not a number`);
      return value;
    }
    if (scalar === 'Boolean') return part === 'true';
    if (scalar === 'JSONObject' || scalar === 'JSON') {
      try {
        const value = JSON.parse(part);
        if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
        return value;
      } catch {
        throw new FieldProblem(field.name, `${field.name}: not a JSON object`);
      }
    }
    return part;
  };
  return isList(field.type) ? text.split(',').map((part) => one(part.trim())) : one(text.trim());
}

export function StartTrainingForm(props: { mutation: OperationField; onStarted: (runId: string) => void }) {
  const [shape, setShape] = useState<FormShape | null | undefined>(undefined);
  const [texts, setTexts] = useState<Record<string, string>>({});
  const [ticks, setTicks] = useState<Record<string, string[]>>({});
  const [problem, setProblem] = useState<{ field: string | null; message: string } | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    formShape(props.mutation).then(setShape, (error: Error) => setProblem({ field: null, message: error.message }));
  }, [props.mutation]);

  if (shape === undefined) return problem ? <p className="error">{problem.message}</p> : null;
  if (shape === null) return <p className="note">This server's startTraining takes no input object the console can build a form for.</p>;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    const input: Record<string, unknown> = {};
    try {
      for (const field of shape.fields) {
        const value = fieldValue(field, texts[field.name] ?? '', ticks[field.name] ?? []);
        if (value !== undefined) input[field.name] = value;
      }
    } catch (error) {
      const fieldError = error as FieldProblem;
      setProblem({ field: fieldError.field, message: fieldError.message });
      return;
    }
    setBusy(true);
    try {
      const data = await graphql<{ startTraining: { id: string } }>(
        `mutation($input: ${shape.argType}) { startTraining(${shape.argName}: $input) { id } }`,
        { input },
      );
      props.onStarted(data.startTraining.id);
    } catch (error) {
      const field = error instanceof GraphQLRequestError ? (error.errors[0]?.extensions?.field ?? null) : null;
      setProblem({ field: field?.replace(/^input\./, '') ?? null, message: (error as Error).message });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="start-form" onSubmit={submit} noValidate data-testid="start-training-form">
      <div className="form-grid">
        {shape.fields.map((field) => {
          const invalid = problem?.field === field.name;
          const id = `start-${field.name}`;
          const enumName = namedType(field.type);
          return (
            <div key={field.name} className={invalid ? 'form-field invalid' : 'form-field'}>
              <label htmlFor={id}>{field.name}</label>
              {baseKind(field.type) === 'ENUM' && isList(field.type) ? (
                <span id={id} className="enum-choices" role="group" aria-label={field.name}>
                  {(shape.enumValues[enumName] ?? []).map((value) => (
                    <label key={value}>
                      <input
                        type="checkbox"
                        checked={(ticks[field.name] ?? []).includes(value)}
                        onChange={(event) =>
                          setTicks({ ...ticks, [field.name]: event.target.checked ? [...(ticks[field.name] ?? []), value] : (ticks[field.name] ?? []).filter((entry) => entry !== value) })
                        }
                      />
                      {value}
                    </label>
                  ))}
                </span>
              ) : baseKind(field.type) === 'ENUM' ? (
                <select id={id} value={texts[field.name] ?? ''} onChange={(event) => setTexts({ ...texts, [field.name]: event.target.value })}>
                  <option value="">default</option>
                  {(shape.enumValues[enumName] ?? []).map((value) => (
                    <option key={value}>{value}</option>
                  ))}
                </select>
              ) : (
                <input
                  id={id}
                  name={field.name}
                  aria-invalid={invalid}
                  inputMode={['Int', 'Float'].includes(namedType(field.type)) && !isList(field.type) ? 'decimal' : undefined}
                  placeholder={isList(field.type) ? 'comma-separated' : (field.defaultValue ?? (namedType(field.type) === 'JSONObject' ? '{ }' : 'default'))}
                  value={texts[field.name] ?? ''}
                  onChange={(event) => setTexts({ ...texts, [field.name]: event.target.value })}
                />
              )}
              {field.description && <span className="muted small">{field.description}</span>}
              {invalid && (
                <span className="error small" role="alert">
                  {problem!.message}
                </span>
              )}
            </div>
          );
        })}
      </div>
      {problem && !shape.fields.some((field) => field.name === problem.field) && (
        <p className="error" role="alert">
          {problem.message}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {busy ? 'Starting…' : 'Start training'}
      </button>
    </form>
  );
}
