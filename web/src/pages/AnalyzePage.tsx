/**
 * Analyze a photo with the active model. This needs the API's `analyzeImage` mutation (it comes
 * with training and serving): the page asks the schema whether it exists and, when it does not,
 * says so instead of showing anything made up; likewise when there is no model version to run.
 * When it can, a dropped photo is sent as base64 in a String argument (or as a GraphQL multipart
 * upload where the argument is an Upload), or a stored image id as an ID, and the image page
 * shows the detections that the mutation stored, with links to similar searches.
 */
import { DragEvent, FormEvent, useEffect, useState } from 'react';
import { ErrorNote } from '../components/ErrorNote';
import { graphql, GRAPHQL_PATH, GraphQLRequestError, namedType, OperationField, schemaOperations, SchemaOperations, typeText } from '../graphql';
import { navigate } from '../router';
import { fetchModelVersions, ModelVersionChoice } from '../search-api';

const MUTATION = 'analyzeImage';

interface Plan {
  field: OperationField;
  uploadArg: string | null;
  /** A String argument that takes the photo's bytes in base64 (e.g. imageBase64). */
  base64Arg: string | null;
  /** An ID argument choosing the model version (default: the active one). */
  modelVersionArg: string | null;
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
  const [versions, setVersions] = useState<ModelVersionChoice[] | null>(null);
  const [versionId, setVersionId] = useState('');

  useEffect(() => {
    schemaOperations().then(async (found) => {
      setOperations(found);
      const field = found.mutations.get(MUTATION);
      if (field) {
        setPlan(await planFor(field));
        setVersions(await fetchModelVersions());
      }
    }).catch(setError);
  }, []);
  const chosenVersion = versionId || null;
  const canSendPhoto = !!(plan && (plan.uploadArg || plan.base64Arg));

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
    if (file) void run(() => sendPhoto(plan!, file, chosenVersion));
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
      ) : versions === null ? (
        <p className="muted">Checking the model versions…</p>
      ) : versions.length === 0 ? (
        <p className="note" role="status" data-testid="analyze-unavailable">
          No model is available: there is no model version yet. Train one (Training page) before analysing photos.
        </p>
      ) : (
        <>
          {plan.modelVersionArg && (
            <label>
              Model version{' '}
              <select value={versionId} onChange={(event) => setVersionId(event.target.value)}>
                <option value="">the active one{versions.some((version) => version.isActive) ? '' : ' (none is active)'}</option>
                {versions.map((version) => (
                  <option key={version.id} value={version.id}>
                    {version.name} (#{version.id}){version.isActive ? ' active' : ''}
                  </option>
                ))}
              </select>
            </label>
          )}
          <p className="muted small">
            Uses <code>{MUTATION}({plan.field.args.map((arg) => `${arg.name}: ${typeText(arg.type)}`).join(', ')})</code>.
          </p>
          {canSendPhoto && (
            <label className="dropzone" onDragOver={(event) => event.preventDefault()} onDrop={onDrop}>
              <input
                type="file"
                accept="image/jpeg,image/png,image/webp"
                disabled={busy}
                onChange={(event) => {
                  const file = event.target.files?.[0];
                  if (file) void run(() => sendPhoto(plan, file, chosenVersion));
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
                void run(() => callWithImageId(plan, imageId, chosenVersion));
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
          {!canSendPhoto && !plan.imageIdArg && (
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
  const base64Arg = field.args.find((arg) => namedType(arg.type) === 'String' && /base64/i.test(arg.name))?.name ?? null;
  const modelVersionArg = field.args.find((arg) => namedType(arg.type) === 'ID' && /model/i.test(arg.name))?.name ?? null;
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
  return { field, uploadArg, base64Arg, modelVersionArg, imageIdArg, imageSelection };
}

/** The mutation with one variable per given argument, selecting what leads to the image. */
function mutationText(plan: Plan, values: Record<string, unknown>): string {
  const args = plan.field.args.filter((arg) => arg.name in values);
  const declarations = args.map((arg) => `$${arg.name}: ${typeText(arg.type)}`).join(', ');
  const passed = args.map((arg) => `${arg.name}: $${arg.name}`).join(', ');
  return `mutation(${declarations}) { result: ${MUTATION}(${passed}) ${plan.imageSelection?.text ?? '{ __typename }'} }`;
}

function withVersion(plan: Plan, values: Record<string, unknown>, versionId: string | null): Record<string, unknown> {
  return plan.modelVersionArg && versionId ? { ...values, [plan.modelVersionArg]: versionId } : values;
}

async function callWithImageId(plan: Plan, imageId: string, versionId: string | null): Promise<unknown> {
  const values = withVersion(plan, { [plan.imageIdArg!]: imageId }, versionId);
  const data = await graphql<{ result: unknown }>(mutationText(plan, values), values);
  return data.result;
}

function sendPhoto(plan: Plan, file: File, versionId: string | null): Promise<unknown> {
  return plan.base64Arg ? sendBase64(plan, file, versionId) : upload(plan, file, versionId);
}

async function sendBase64(plan: Plan, file: File, versionId: string | null): Promise<unknown> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  const values: Record<string, unknown> = { [plan.base64Arg!]: btoa(binary) };
  const fileNameArg = plan.field.args.find((arg) => arg.name === 'fileName');
  if (fileNameArg) values.fileName = file.name;
  const data = await graphql<{ result: unknown }>(mutationText(plan, withVersion(plan, values, versionId)), withVersion(plan, values, versionId));
  return data.result;
}

/** GraphQL multipart request (operations + map + file); the preflight header satisfies CSRF prevention. */
async function upload(plan: Plan, file: File, versionId: string | null): Promise<unknown> {
  const values = withVersion(plan, { [plan.uploadArg!]: null }, versionId);
  const body = new FormData();
  body.append('operations', JSON.stringify({ query: mutationText(plan, values), variables: values }));
  body.append('map', JSON.stringify({ 0: [`variables.${plan.uploadArg}`] }));
  body.append('0', file, file.name);
  const response = await fetch(GRAPHQL_PATH, { method: 'POST', body, headers: { 'apollo-require-preflight': 'true' } });
  const json = (await response.json().catch(() => ({}))) as { data?: { result: unknown }; errors?: { message: string }[] };
  if (json.errors?.length) throw new GraphQLRequestError(json.errors.map((entry) => entry.message).join('; '), json.errors);
  if (!response.ok || !json.data) throw new GraphQLRequestError(`the API answered ${response.status}`);
  return json.data.result;
}
