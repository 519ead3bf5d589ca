/**
 * Analyze a photo with a model version (default: the active one). A dropped or chosen photo is
 * uploaded (POST /uploads) and analysed by its upload id, a stored image by its id; the page then
 * shows, for every garment analyzeImage detected, its nearest catalogue garments (shopTheLook),
 * with a link to the image page's detections. The analysed image is in the URL
 * (`/analyze?image=&model=`), so a look can be reloaded and shared. Without an active model
 * version the page says so and offers nothing to run.
 */
import { DragEvent, FormEvent, useEffect, useMemo, useState } from 'react';
import { ErrorNote } from '../components/ErrorNote';
import { CropList } from '../components/ResultGrid';
import { graphql } from '../gql';
import type { AnalyzeImageMutationVariables } from '../gql/graphql';
import { fetchGraphQL } from '../graphql';
import { Link, navigate } from '../router';
import { fetchModelVersions, ModelVersionChoice } from '../search-api';
import { fetchLook, Look, LookGarment } from '../similar-api';
import { formatLookQuery, parseLookQuery } from '../similar-state';
import { uploadPhoto } from '../uploads';

const ANALYZE_IMAGE = graphql(`
  mutation AnalyzeImage($uploadId: ID, $imageId: ID, $modelVersionId: ID) {
    analyzeImage(uploadId: $uploadId, imageId: $imageId, modelVersionId: $modelVersionId) { image { id } }
  }
`);

type AnalysisTarget = Pick<AnalyzeImageMutationVariables, 'uploadId' | 'imageId'>;

export function AnalyzePage({ query }: { query: string }) {
  const analysed = useMemo(() => parseLookQuery(query), [query]);
  const [versions, setVersions] = useState<ModelVersionChoice[] | null>(null);
  const [error, setError] = useState<Error | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    fetchModelVersions(controller.signal).then(setVersions, (failure: Error) => !controller.signal.aborted && setError(failure));
    return () => controller.abort();
  }, []);

  const active = versions?.find((version) => version.isActive);
  return (
    <div className="analyze-page">
      <h1>Analyze a photo</h1>
      {versions === null ? (
        !error && <p className="muted">Checking the model versions…</p>
      ) : !active ? (
        <p className="note" role="status" data-testid="analyze-unavailable">
          {versions.length === 0
            ? 'No model is available: there is no model version yet. Train one before analysing photos: '
            : 'No model is available: no model version is active. Make one the active model before analysing photos: '}
          <Link href="/training">Training</Link>.
        </p>
      ) : (
        <AnalyzeForms versions={versions} active={active} />
      )}
      {error && <ErrorNote error={error} />}
      {analysed && <ShopTheLook key={`${analysed.imageId} ${analysed.modelVersionId}`} {...analysed} />}
    </div>
  );
}

function AnalyzeForms({ versions, active }: { versions: ModelVersionChoice[]; active: ModelVersionChoice }) {
  const [versionId, setVersionId] = useState(active.id);
  const [imageId, setImageId] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);

  const analyze = async (target: () => Promise<AnalysisTarget>) => {
    setBusy(true);
    setError(null);
    try {
      const data = await fetchGraphQL(ANALYZE_IMAGE, { ...(await target()), modelVersionId: versionId });
      navigate(`/analyze${formatLookQuery({ imageId: data.analyzeImage.image.id, modelVersionId: versionId })}`);
    } catch (failure) {
      setError(failure as Error);
    } finally {
      setBusy(false);
    }
  };
  const analyzePhoto = (file: File) => analyze(async () => ({ uploadId: (await uploadPhoto(file)).uploadId }));
  const onDrop = (event: DragEvent<HTMLElement>) => {
    event.preventDefault();
    const file = event.dataTransfer.files[0];
    if (file && !busy) void analyzePhoto(file);
  };
  const onSubmitImageId = (event: FormEvent) => {
    event.preventDefault();
    void analyze(async () => ({ imageId: imageId.trim() }));
  };

  return (
    <>
      <label>
        Model version{' '}
        <select value={versionId} onChange={(event) => setVersionId(event.target.value)}>
          {versions.map((version) => (
            <option key={version.id} value={version.id}>
              {version.name} (#{version.databaseId}){version.isActive ? ' active' : ''}
            </option>
          ))}
        </select>
      </label>
      <label className="dropzone" data-testid="photo-upload" onDragOver={(event) => event.preventDefault()} onDrop={onDrop}>
        <input
          type="file"
          accept="image/jpeg,image/png,image/webp"
          disabled={busy}
          onChange={(event) => {
            const file = event.target.files?.[0];
            event.target.value = '';
            if (file) void analyzePhoto(file);
          }}
        />
        <span>{busy ? 'Analysing…' : 'Drop a JPEG, PNG or WebP photo here, or choose one'}</span>
      </label>
      <form className="inline-form" onSubmit={onSubmitImageId}>
        <label>
          Stored image id (as in its page address){' '}
          <input value={imageId} onChange={(event) => setImageId(event.target.value)} spellCheck={false} required />
        </label>
        <button type="submit" disabled={busy}>
          Analyze
        </button>
      </form>
      {error && <ErrorNote error={error} />}
    </>
  );
}

/**
 * A stored photo has its annotations and other versions' detections too: the garments this
 * version detected (any version's when it is the active one, unnamed) come first.
 */
function detectedFirst(garments: LookGarment[], modelVersionId: string | null): LookGarment[] {
  const detected = ({ garment }: LookGarment) => (modelVersionId ? garment.modelVersion?.id === modelVersionId : !!garment.modelVersion);
  return [...garments.filter(detected), ...garments.filter((entry) => !detected(entry))];
}

/** Every detected garment of the analysed photo beside its nearest catalogue garments. */
function ShopTheLook({ imageId, modelVersionId }: { imageId: string; modelVersionId: string | null }) {
  const [look, setLook] = useState<Look | null>(null);
  const [error, setError] = useState<Error | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    fetchLook(imageId, modelVersionId, controller.signal).then(
      setLook,
      (failure: Error) => !controller.signal.aborted && setError(failure),
    );
    return () => controller.abort();
  }, [imageId, modelVersionId]);

  if (error) return <ErrorNote error={error} />;
  if (!look) return <p className="muted">Finding similar garments…</p>;
  return (
    <section className="look" aria-labelledby="look-heading" data-testid="shop-the-look">
      <h2 id="look-heading">
        Shop the look{' '}
        <Link className="small" href={`/image/${imageId}`}>
          {look.image?.fileName ?? 'the photo'}: all detections
        </Link>
      </h2>
      {look.garments.length === 0 && <p className="muted">No garment was detected in this photo.</p>}
      {detectedFirst(look.garments, modelVersionId).map(({ garment, matches }) => (
        <article key={garment.id} className="look-garment" data-testid="look-garment" data-garment-id={garment.id}>
          <CropList garments={[garment]} testId="look-detected" />
          {matches.length ? (
            <CropList garments={matches} testId="look-matches" />
          ) : (
            <p className="muted">
              No match: this garment or the catalogue has no embeddings of this model version (an analyst fills the catalogue's with
              embedGarments).
            </p>
          )}
        </article>
      ))}
    </section>
  );
}
