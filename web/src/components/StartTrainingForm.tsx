/**
 * The form to start a training run, built from the `StartTrainingInput` type of schema.graphql
 * (generated into gql/input-fields.ts by npm run codegen): one control per field (numbers, text,
 * enum lists as checkboxes, JSON objects), each with the field's description. Values are checked
 * for their GraphQL type before sending; everything else is validated by the mutation itself,
 * whose error is shown beside the field it names (`extensions.field`).
 */
import { FormEvent, useState } from 'react';
import { graphql } from '../gql';
import type { StartTrainingInput } from '../gql/graphql';
import { startTrainingInputFields } from '../gql/input-fields';
import { fetchGraphQL, GraphQLRequestError } from '../graphql';
import { enumValuesOf, FieldProblem, StartTrainingField, startTrainingInput } from '../start-training-input';

const START_TRAINING = graphql(`
  mutation StartTraining($input: StartTrainingInput!) {
    startTraining(input: $input) { id }
  }
`);

export function StartTrainingForm(props: { onStarted: (runId: string) => void }) {
  const [texts, setTexts] = useState<Record<string, string>>({});
  const [ticks, setTicks] = useState<Record<string, string[]>>({});
  const [problem, setProblem] = useState<{ field: string | null; message: string } | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    let input: StartTrainingInput;
    try {
      input = startTrainingInput(texts, ticks);
    } catch (error) {
      setProblem({ field: error instanceof FieldProblem ? error.field : null, message: (error as Error).message });
      return;
    }
    setBusy(true);
    try {
      const data = await fetchGraphQL(START_TRAINING, { input });
      props.onStarted(data.startTraining.id);
    } catch (error) {
      const field = error instanceof GraphQLRequestError ? (error.errors[0]?.extensions?.field ?? null) : null;
      setProblem({ field: field?.replace(/^input\./, '') ?? null, message: (error as Error).message });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="start-form" onSubmit={(event) => void submit(event)} noValidate data-testid="start-training-form">
      <div className="form-grid">
        {startTrainingInputFields.map((field) => {
          const invalid = problem?.field === field.name;
          return (
            <div key={field.name} className={invalid ? 'form-field invalid' : 'form-field'}>
              <label htmlFor={`start-${field.name}`}>{field.name}</label>
              <FieldControl
                field={field}
                invalid={invalid}
                text={texts[field.name] ?? ''}
                ticked={ticks[field.name] ?? []}
                onText={(text) => setTexts({ ...texts, [field.name]: text })}
                onTicked={(ticked) => setTicks({ ...ticks, [field.name]: ticked })}
              />
              {field.description && <span className="muted small">{field.description}</span>}
              {invalid && (
                <span className="error small" role="alert">
                  {problem.message}
                </span>
              )}
            </div>
          );
        })}
      </div>
      {problem && !startTrainingInputFields.some((field) => field.name === problem.field) && (
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

/** Checkboxes for an enum list, a select for one enum value, a text box for everything else. */
function FieldControl(props: {
  field: StartTrainingField;
  invalid: boolean;
  text: string;
  ticked: string[];
  onText: (text: string) => void;
  onTicked: (ticked: string[]) => void;
}) {
  const { field } = props;
  const id = `start-${field.name}`;
  if (field.kind === 'ENUM' && field.list) {
    return (
      <span id={id} className="enum-choices" role="group" aria-label={field.name}>
        {enumValuesOf(field).map((value) => (
          <label key={value}>
            <input
              type="checkbox"
              checked={props.ticked.includes(value)}
              onChange={(event) =>
                props.onTicked(event.target.checked ? [...props.ticked, value] : props.ticked.filter((entry) => entry !== value))
              }
            />
            {value}
          </label>
        ))}
      </span>
    );
  }
  if (field.kind === 'ENUM') {
    return (
      <select id={id} value={props.text} onChange={(event) => props.onText(event.target.value)}>
        <option value="">default</option>
        {enumValuesOf(field).map((value) => (
          <option key={value}>{value}</option>
        ))}
      </select>
    );
  }
  const numeric = (field.type === 'Int' || field.type === 'Float') && !field.list;
  const placeholder = field.list ? 'comma-separated' : (field.defaultValue ?? (field.type === 'JSONObject' ? '{ }' : 'default'));
  return (
    <input
      id={id}
      name={field.name}
      aria-invalid={props.invalid}
      inputMode={numeric ? 'decimal' : undefined}
      placeholder={placeholder}
      value={props.text}
      onChange={(event) => props.onText(event.target.value)}
    />
  );
}
