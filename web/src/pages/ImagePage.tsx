/**
 * One photo: boxes and polygons over it, and per garment its annotated attributes beside the
 * predicted ones (with probabilities) where a model version has predictions, disagreements
 * marked. Hovering or focusing a garment in either place highlights it in both. Each garment links
 * to a search for its attributes and to the garments that look like it ("More like this"; a
 * predicted garment's under the model version that detected it). A token with the editor role also
 * edits here (../garment-editing.ts): boxes on the photo, pickers beside it.
 */
import { useCallback, useEffect, useMemo, useState } from 'react';
import { EditToolbar } from '../components/EditToolbar';
import { ErrorNote } from '../components/ErrorNote';
import { GarmentOverlay, SLOT_COLORS } from '../components/GarmentOverlay';
import { dateTimeText } from '../dates';
import { canEdit, fetchViewerRole } from '../garment-edits';
import { useGarmentEditing } from '../garment-editing';
import type { ApiRole } from '../gql/graphql';
import {
  Attribute,
  attributesByKind,
  fetchImage,
  GarmentPair,
  ImageDetail,
  KIND_LABELS,
  KIND_ORDER,
  MULTI_VALUED_KINDS,
  pairGarments,
} from '../image-model';
import { formatReviewOptions, reviewOptionsOf } from '../review-api';
import { Link } from '../router';
import { SUPER_CATEGORIES } from '../search-state';
import { similarPath } from '../similar-state';

/** A multi-label prediction counts as "predicted" at this probability (sigmoid outputs). */
const MULTI_LABEL_THRESHOLD = 0.5;

export function ImagePage(props: { id: string; external: boolean; query: string }) {
  const [image, setImage] = useState<ImageDetail | null | undefined>(undefined);
  const [error, setError] = useState<Error | null>(null);
  const [modelVersionId, setModelVersionId] = useState<string | null>(null);
  const [highlighted, setHighlighted] = useState<string | null>(null);
  const role = useViewerRole();

  useEffect(() => {
    const controller = new AbortController();
    setImage(undefined);
    setError(null);
    fetchImage(props.id, props.external, controller.signal).then(
      setImage,
      (failure: Error) => !controller.signal.aborted && setError(failure),
    );
    return () => controller.abort();
  }, [props.id, props.external]);

  /** After an edit: the stored image replaces the shown one (no loading state in between). */
  const reload = useCallback(
    () => fetchImage(props.id, props.external, new AbortController().signal).then(setImage),
    [props.id, props.external],
  );

  const versions = useMemo(() => {
    const byId = new Map<string, string>();
    for (const garment of image?.garments ?? []) if (garment.modelVersion) byId.set(garment.modelVersion.id, garment.modelVersion.name);
    return [...byId].sort((a, b) => Number(b[0]) - Number(a[0]));
  }, [image]);
  const shownVersion = modelVersionId ?? versions[0]?.[0] ?? null;

  if (error) return <ErrorNote error={error} />;
  if (image === undefined) return <p className="muted">Loading…</p>;
  if (image === null)
    return (
      <p className="error" role="alert">
        No image {props.external ? `with K-Fashion id ${props.id}` : props.id}.
      </p>
    );

  const shown = {
    ...image,
    garments: image.garments.filter((garment) => garment.source === 'ANNOTATION' || garment.modelVersion?.id === shownVersion),
  };
  return (
    <ImageView
      key={image.id}
      image={shown}
      query={props.query}
      editable={canEdit(role)}
      reload={reload}
      versions={versions}
      shownVersion={shownVersion}
      onVersion={setModelVersionId}
      highlighted={highlighted}
      onHighlight={setHighlighted}
    />
  );
}

/** The role of the console's token, once known (null until then and without a token). */
function useViewerRole(): ApiRole | null {
  const [role, setRole] = useState<ApiRole | null>(null);
  useEffect(() => {
    let live = true;
    void fetchViewerRole().then((known) => live && setRole(known));
    return () => {
      live = false;
    };
  }, []);
  return role;
}

function ImageView(props: {
  image: ImageDetail;
  query: string;
  editable: boolean;
  reload: () => Promise<void>;
  versions: [string, string][];
  shownVersion: string | null;
  onVersion: (id: string) => void;
  highlighted: string | null;
  onHighlight: (id: string | null) => void;
}) {
  const { image, versions, highlighted } = props;
  const review = reviewOptionsOf(props.query);
  const editing = useGarmentEditing({
    image,
    garments: image.garments,
    initialSelection: new URLSearchParams(props.query).get('garment'),
    reload: props.reload,
    review,
  });
  const pairs = sortBySlot(
    pairGarments(
      image.garments.filter((garment) => garment.source === 'ANNOTATION'),
      image.garments.filter((garment) => garment.source === 'PREDICTION'),
    ),
  );
  const selected = props.editable ? editing.overlay.selected : null;
  return (
    <div className="image-page">
      <figure className="photo">
        <GarmentOverlay
          image={image}
          highlighted={highlighted ?? selected}
          onHighlight={props.onHighlight}
          editing={props.editable ? editing.overlay : undefined}
        />
        <figcaption>
          <a href={image.url}>{image.fileName}</a> · {image.width}×{image.height}
          {image.split && ` · ${image.split === 'TRAIN' ? 'training' : 'validation'} split`}
          {image.reviewedAt && <> · reviewed {dateTimeText(image.reviewedAt)}</>}
        </figcaption>
      </figure>
      <section className="garments" aria-labelledby="image-heading">
        <h1 id="image-heading">{image.externalId ? <>K-Fashion {image.externalId}</> : <>Image {image.id}</>}</h1>
        {review && (
          <p className="review-nav">
            <Link href={`/review${formatReviewOptions(review)}`}>← Review queue</Link>
          </p>
        )}
        <p className="styles">
          {image.styles.length
            ? image.styles.map((style, i) => (
                <Link key={i} className="chip" href={`/?style=${encodeURIComponent(style.style)}`}>
                  <span lang="ko">{style.style}</span> {style.styleEn}
                  {style.subStyle && (
                    <>
                      {' / '}
                      <span lang="ko">{style.subStyle}</span> {style.subStyleEn}
                    </>
                  )}
                </Link>
              ))
            : 'no style labelled'}
        </p>
        {versions.length > 1 && (
          <label>
            Predictions of{' '}
            <select value={props.shownVersion ?? ''} onChange={(event) => props.onVersion(event.target.value)}>
              {versions.map(([id, name]) => (
                <option key={id} value={id}>
                  {name}
                </option>
              ))}
            </select>
          </label>
        )}
        {versions.length === 0 && <p className="muted small">No model version has predictions for this photo.</p>}
        {props.editable && <EditToolbar image={image} editing={editing} reviewing={review !== null} />}
        {pairs.map((pair) => (
          <GarmentCard
            key={(pair.annotation ?? pair.prediction)!.id}
            pair={pair}
            highlighted={highlighted ?? selected}
            onHighlight={props.onHighlight}
            selected={selected}
            onSelect={props.editable ? editing.select : undefined}
          />
        ))}
      </section>
    </div>
  );
}

/** Garments listed outer → top → bottom → one-piece, as a person looks down a photo. */
function sortBySlot(pairs: GarmentPair[]): GarmentPair[] {
  const order = ['OUTER', 'TOP', 'BOTTOM', 'ONE_PIECE'];
  const rank = (pair: GarmentPair) => order.indexOf((pair.annotation ?? pair.prediction)!.superCategory);
  return [...pairs].sort((a, b) => rank(a) - rank(b));
}

function GarmentCard(props: {
  pair: GarmentPair;
  highlighted: string | null;
  onHighlight: (id: string | null) => void;
  selected: string | null;
  /** Editors select a garment by its card too: the annotation, or the prediction standing alone. */
  onSelect?: (id: string) => void;
}) {
  const { annotation, prediction } = props.pair;
  const main = (annotation ?? prediction)!;
  const slot = SUPER_CATEGORIES.find((entry) => entry.value === main.superCategory);
  const annotated = annotation ? attributesByKind(annotation) : new Map<string, Attribute[]>();
  const predicted = prediction ? attributesByKind(prediction) : new Map<string, Attribute[]>();
  const kinds = [...new Set([...KIND_ORDER, ...annotated.keys(), ...predicted.keys()])].filter(
    (kind) => annotated.has(kind) || predicted.has(kind),
  );
  const on = props.highlighted === annotation?.id || props.highlighted === prediction?.id;
  const selectedHere = props.selected !== null && (props.selected === annotation?.id || props.selected === prediction?.id);
  return (
    <article
      className={`garment-card${on ? ' highlighted' : ''}${selectedHere ? ' selected' : ''}`}
      data-testid="garment-card"
      data-garment-id={main.id}
      data-prediction-id={prediction?.id}
      tabIndex={0}
      style={{ borderColor: SLOT_COLORS[main.superCategory] }}
      onMouseEnter={() => props.onHighlight(main.id)}
      onMouseLeave={() => props.onHighlight(null)}
      onFocus={() => props.onHighlight(main.id)}
      onBlur={() => props.onHighlight(null)}
      onClick={props.onSelect && (() => props.onSelect!(main.id))}
    >
      <h2>
        <span lang="ko">{slot?.korean}</span> {slot?.english}
        {!annotation && <span className="tag">detected only</span>}
        {!prediction && props.pair.annotation && <span className="tag muted">annotation</span>}
        {prediction?.score != null && <span className="tag">box {(prediction.score * 100).toFixed(0)}%</span>}
        {props.onSelect && prediction && annotation && (
          <button
            type="button"
            className="link-button"
            onClick={(event) => {
              event.stopPropagation();
              props.onSelect!(prediction.id);
            }}
          >
            select prediction
          </button>
        )}
        <Link className="similar" href={similarSearch(main, annotation ? annotated : predicted)}>
          same attributes
        </Link>
        <Link
          className="more-like-this"
          href={similarPath(main.id, { modelVersionId: main.modelVersion?.id ?? null })}
          title="garments that look like this one (nearest appearance embeddings)"
        >
          More like this
        </Link>
      </h2>
      <table className="attributes">
        <thead>
          <tr>
            <th scope="col">Attribute</th>
            <th scope="col">Annotated</th>
            {prediction && <th scope="col">Predicted</th>}
          </tr>
        </thead>
        <tbody>
          {kinds.map((kind) => {
            const differs = prediction && annotation && disagrees(kind, annotated.get(kind), predicted.get(kind));
            return (
              <tr key={kind} className={differs ? 'disagree' : undefined} data-kind={kind}>
                <th scope="row">{KIND_LABELS[kind] ?? kind}</th>
                <td>
                  <Values values={annotated.get(kind)} />
                </td>
                {prediction && (
                  <td>
                    <Values values={predicted.get(kind)} withScores />
                    {differs && (
                      <span className="differs" title="the prediction differs from the annotation">
                        {' '}
                        ≠ differs
                      </span>
                    )}
                  </td>
                )}
              </tr>
            );
          })}
        </tbody>
      </table>
    </article>
  );
}

/** Search for the same slot, category and colour (the most telling attributes). */
function similarSearch(garment: GarmentPair['annotation'] & object, byKind: Map<string, Attribute[]>): string {
  const params = new URLSearchParams({ superCategory: garment.superCategory });
  for (const kind of ['category', 'color']) {
    const top = byKind.get(kind)?.[0];
    if (top) params.set(kind, top.value);
  }
  if (garment.source === 'PREDICTION') params.set('source', 'PREDICTION');
  return `/?${params}`;
}

function Values({ values, withScores }: { values: Attribute[] | undefined; withScores?: boolean }) {
  if (!values?.length) return <span className="muted">—</span>;
  return (
    <>
      {values.map((value, i) => (
        <span key={value.value} className="attribute-value">
          {i > 0 && ', '}
          <span lang="ko">{value.value}</span>
          {value.valueEn && <span className="value-en"> {value.valueEn}</span>}
          {withScores && value.score !== null && <span className="score"> {(value.score * 100).toFixed(0)}%</span>}
        </span>
      ))}
    </>
  );
}

/** The predicted value set (top-1 for single-label kinds, ≥ threshold for multi-label ones) differs from the annotated set. */
function disagrees(kind: string, annotated: Attribute[] | undefined, predicted: Attribute[] | undefined): boolean {
  if (!annotated?.length || !predicted?.length) return false;
  const chosen = MULTI_VALUED_KINDS.has(kind)
    ? predicted.filter((value) => value.score === null || value.score >= MULTI_LABEL_THRESHOLD)
    : predicted.slice(0, 1);
  const expected = new Set(annotated.map((value) => value.value));
  return chosen.length !== expected.size || chosen.some((value) => !expected.has(value.value));
}
