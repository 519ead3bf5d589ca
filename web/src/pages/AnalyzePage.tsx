/**
 * Analyze a photo with the active model. This needs the API's `analyzeImage` mutation (it comes
 * with training and serving): the page asks the schema whether it exists and, when it does not,
 * says so instead of showing anything made up. When it does, a dropped photo is sent as a
 * GraphQL multipart upload (or a stored image id as an ID), and the image page shows the
 * detections that the mutation stored, with links to similar searches.
 */
import { DragEvent, FormEvent, useEffect, useState } from 'react';
import { ErrorNote } from '../components/ErrorNote';
import { graphql, GRAPHQL_PATH, GraphQLRequestError, namedType, OperationField, schemaOperations, SchemaOperations, typeText } from '../graphql';
import { navigate } from '../router';

const MUTATION = 'analyzeImage';

interface Plan {
  field: OperationField;
  uploadArg: string | null;
  imageIdArg: string | null;
  /** Selection that yields the analysed image's id, or null when the result type does not lead to one. */
  imageSelection: { text: string; read: (result: any) => string | null } | null;
}

export function AnalyzePage() {
  const [operations, setOperations] = useState<SchemaOperations | null>(null);
  const [plan, setPlan] = useState<Plan | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const [imageId, setImageId] = useState('');

  useEffect(() => {
    schemaOperations().then(async (found) => {
      setOperations(found);
      const field = found.mutations.get(MUTATION);
      if (field) setPlan(await planFor(field));
    }, setError);
  }, []);

  const run = async (send: () => Promise<any>) => {
    if (!plan) return;
    setBusy(true);
    setError(null);
    try {
      const result = await send();
      const id = plan.imageSelection?.read(result) ?? null;
      if (id) navigate(`/image/${id}`);
      else setError(new Error(`${MUTATION} answered, but its result type ${typeText(plan.field.type)} does not lead to an image this console can show.`));
    } catch (failure) {
      setError(failure as Error);
    } finally {
      setBusy(false);
    }
  };

  const onDrop = (event: DragEvent<HTMLElement>) => {
    event.preventDefault();
    const file = event.dataTransfer.files[0];
    if (file) void run(() => upload(plan!, file));
  };

  if (!operations) return <div className="analyze-page"><h1>Analyze a photo</h1>{error ? <ErrorNote error={error} /> : <p className="muted">Checking the API…</p>}</div>;
  return (
    <div className="analyze-page">
      <h1>Analyze a photo</h1>
      {!operations.introspectable ? (
        <p className="note" role="status" data-testid="analyze-unavailable">
          This server does not allow schema introspection, so the console cannot tell whether it can analyse photos.
        </p>
      ) : !plan ? (
        <p className="note" role="status" data-testid="analyze-unavailable">
          No model is available: this API has no <code>{MUTATION}</code> mutation yet. It arrives with training and serving; until
          then nothing can be analysed here.
        </p>
      ) : (
        <>
          <p className="muted small">
            Uses <code>{MUTATION}({plan.field.args.map((arg) => `${arg.name}: ${typeText(arg.type)}`).join(', ')})</code>.
          </p>
          {plan.uploadArg && (
            <label className="dropzone" onDragOver={(event) => event.preventDefault()} onDrop={onDrop}>
              <input
                type="file"
                accept="image/jpeg,image/png,image/webp"
                disabled={busy}
                onChange={(event) => {
                  const file = event.target.files?.[0];
                  if (file) void run(() => upload(plan, file));
                }}
              />
              <span>{busy ? 'Analysing…' : 'Drop a photo here, or choose one'}</span>
            </label>
          )}
          {plan.imageIdArg && (
            <form
              className="inline-form"
              onSubmit={(event: FormEvent) => {
                event.preventDefault();
                void run(() => callWithImageId(plan, imageId));
              }}
            >
              <label>
                Stored image id <input value={imageId} onChange={(event) => setImageId(event.target.value)} inputMode="numeric" required />
              </label>
              <button type="submit" disabled={busy}>
                Analyze
              </button>
            </form>
          )}
          {!plan.uploadArg && !plan.imageIdArg && (
            <p className="note">The console does not know how to call this signature of {MUTATION}.</p>
          )}
        </>
      )}
      {error && <ErrorNote error={error} />}
    </div>
  );
}

async function planFor(field: OperationField): Promise<Plan> {
  const uploadArg = field.args.find((arg) => namedType(arg.type) === 'Upload')?.name ?? null;
  const imageIdArg = field.args.find((arg) => namedType(arg.type) === 'ID' && /image/i.test(arg.name))?.name ?? null;
  const resultType = namedType(field.type);
  const data = await graphql<{ __type: { fields: { name: string; type: { kind: string; name: string | null; ofType: any } }[] | null } | null }>(
    `query($name: String!) { __type(name: $name) { fields { name type { kind name ofType { kind name ofType { kind name } } } } } }`,
    { name: resultType },
  );
  const fields = data.__type?.fields ?? [];
  let imageSelection: Plan['imageSelection'] = null;
  if (resultType === 'Image') imageSelection = { text: '{ id }', read: (result) => result?.id ?? null };
  else if (fields.some((entry) => entry.name === 'image')) imageSelection = { text: '{ image { id } }', read: (result) => result?.image?.id ?? null };
  return { field, uploadArg, imageIdArg, imageSelection };
}

function mutationText(plan: Plan, arg: string, variableType: string): string {
  return `mutation($value: ${variableType}) { result: ${MUTATION}(${arg}: $value) ${plan.imageSelection?.text ?? '{ __typename }'} }`;
}

async function callWithImageId(plan: Plan, imageId: string): Promise<unknown> {
  const arg = plan.field.args.find((entry) => entry.name === plan.imageIdArg)!;
  const data = await graphql<{ result: unknown }>(mutationText(plan, arg.name, typeText(arg.type)), { value: imageId });
  return data.result;
}

/** GraphQL multipart request (operations + map + file); the preflight header satisfies CSRF prevention. */
async function upload(plan: Plan, file: File): Promise<unknown> {
  const arg = plan.field.args.find((entry) => entry.name === plan.uploadArg)!;
  const body = new FormData();
  body.append('operations', JSON.stringify({ query: mutationText(plan, arg.name, typeText(arg.type)), variables: { value: null } }));
  body.append('map', JSON.stringify({ 0: ['variables.value'] }));
  body.append('0', file, file.name);
  const response = await fetch(GRAPHQL_PATH, { method: 'POST', body, headers: { 'apollo-require-preflight': 'true' } });
  const json = (await response.json().catch(() => ({}))) as { data?: { result: unknown }; errors?: { message: string }[] };
  if (json.errors?.length) throw new GraphQLRequestError(json.errors.map((entry) => entry.message).join('; '), json.errors);
  if (!response.ok || !json.data) throw new GraphQLRequestError(`the API answered ${response.status}`);
  return json.data.result;
}
