/**
 * Training runs (status, progress, parameters, recorded metric curves) and model versions
 * (evaluation metrics, side by side for two versions). Runs that are queued or running are
 * refreshed every few seconds; a form starts a run (`startTraining`), a queued or running run can
 * be cancelled, and the open run's curves follow `trainingRunUpdated` live over graphql-ws
 * (falling back to the refresh when the subscription fails).
 */
import { useEffect, useState } from 'react';
import { ErrorNote } from '../components/ErrorNote';
import { EvaluationTables } from '../components/EvaluationTables';
import { formatNumber, LineChart } from '../components/LineChart';
import { StartTrainingForm } from '../components/StartTrainingForm';
import { dateTimeText } from '../dates';
import { graphql } from '../gql';
import type { JobStatus, TrainingOverviewQuery, TrainingRunSummaryFragment, TrainingRunWithMetricsFragment } from '../gql/graphql';
import { fetchGraphQL } from '../graphql';
import { Link, navigate } from '../router';
import { subscribe } from '../subscription';

type TrainingRun = TrainingOverviewQuery['trainingRuns']['edges'][number]['node'];
type ModelVersion = TrainingOverviewQuery['modelVersions']['edges'][number]['node'];
type RunWithMetrics = TrainingRunWithMetricsFragment;

graphql(`
  fragment TrainingRunSummary on TrainingRun {
    id databaseId status createdAt startedAt finishedAt error modelVersion { id databaseId name }
    progress { phase epoch epochs step totalSteps imagesPerSecond etaSeconds skippedImages }
    params {
      name backbone model superCategories attributeKinds minValueCount maxImages evalMaxImages epochs batchSize
      lr momentum weightDecay lrMilestones lrGamma warmupIterations warmupFactor checkpointEvery clipGradNorm seed initWeights
    }
  }
`);

graphql(`
  fragment TrainingRunWithMetrics on TrainingRun {
    ...TrainingRunSummary
    metrics { epoch step name value }
  }
`);

const TRAINING_OVERVIEW = graphql(`
  query TrainingOverview {
    trainingRuns(first: 50) { edges { node { ...TrainingRunSummary } } }
    modelVersions(first: 50) { edges { node { id databaseId name backbone isActive createdAt metrics trainingRun { id } } } }
  }
`);

const TRAINING_RUN = graphql(`
  query TrainingRun($id: ID!) {
    trainingRun(id: $id) { ...TrainingRunWithMetrics }
  }
`);

const TRAINING_RUN_UPDATED = graphql(`
  subscription TrainingRunUpdated($id: ID!) {
    trainingRunUpdated(id: $id) { ...TrainingRunWithMetrics }
  }
`);

const CANCEL_TRAINING = graphql(`
  mutation CancelTraining($id: ID!) {
    cancelTraining(id: $id) { id status }
  }
`);

const ACTIVATE_MODEL_VERSION = graphql(`
  mutation ActivateModelVersion($id: ID!) {
    activateModelVersion(id: $id) { id isActive }
  }
`);

const REFRESH_MS = 5000;
const ACTIVE: ReadonlySet<JobStatus> = new Set<JobStatus>(['QUEUED', 'RUNNING']);

export function TrainingPage({ query }: { query: string }) {
  const params = new URLSearchParams(query);
  const selectedRun = params.get('run');
  const [runs, setRuns] = useState<TrainingRun[] | null>(null);
  const [versions, setVersions] = useState<ModelVersion[]>([]);
  const [error, setError] = useState<Error | null>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    fetchGraphQL(TRAINING_OVERVIEW, {}, controller.signal).then(
      (data) => {
        setRuns(data.trainingRuns.edges.map((edge) => edge.node));
        setVersions(data.modelVersions.edges.map((edge) => edge.node));
      },
      (failure: Error) => !controller.signal.aborted && setError(failure),
    );
    return () => controller.abort();
  }, [tick]);

  const anyActive = runs?.some((run) => ACTIVE.has(run.status)) ?? false;
  useEffect(() => {
    if (!anyActive) return;
    const timer = window.setTimeout(() => setTick((value) => value + 1), REFRESH_MS);
    return () => window.clearTimeout(timer);
  }, [anyActive, tick]);

  return (
    <div className="training-page">
      <h1>Training</h1>
      {error && <ErrorNote error={error} />}
      <details className="start-training">
        <summary>Start a training run</summary>
        <StartTrainingForm
          onStarted={(runId) => {
            navigate(`/training?run=${runId}`);
            setTick((value) => value + 1);
          }}
        />
      </details>
      <section aria-labelledby="runs-heading">
        <h2 id="runs-heading">Runs</h2>
        {runs === null ? (
          <p className="muted">Loading…</p>
        ) : runs.length === 0 ? (
          <p className="muted" data-testid="no-runs">
            No training runs yet.
          </p>
        ) : (
          <RunTable runs={runs} selected={selectedRun} onChanged={() => setTick((value) => value + 1)} />
        )}
        {anyActive && <p className="muted small">Queued and running runs refresh every {REFRESH_MS / 1000} s.</p>}
      </section>
      {selectedRun && <RunDetail id={selectedRun} tick={tick} />}
      <section aria-labelledby="versions-heading">
        <h2 id="versions-heading">Model versions</h2>
        {versions.length === 0 ? (
          <p className="muted">No model versions yet.</p>
        ) : (
          <VersionComparison versions={versions} query={query} onChanged={() => setTick((value) => value + 1)} />
        )}
      </section>
    </div>
  );
}

function cancelLabel(state: 'sending' | 'requested' | undefined): string {
  if (state === 'sending') return 'cancelling…';
  return state === 'requested' ? 'cancel requested' : 'Cancel';
}

function RunTable(props: { runs: TrainingRun[]; selected: string | null; onChanged: () => void }) {
  const { runs, selected } = props;
  // "cancel requested" only once the server has recorded it; until then the button says the request is on its way.
  const [cancelling, setCancelling] = useState<ReadonlyMap<string, 'sending' | 'requested'>>(new Map());
  const [error, setError] = useState<Error | null>(null);
  const markCancel = (id: string, state: 'sending' | 'requested' | null) =>
    setCancelling((current) => {
      const next = new Map(current);
      if (state) next.set(id, state);
      else next.delete(id);
      return next;
    });
  const cancel = (id: string) => {
    markCancel(id, 'sending');
    fetchGraphQL(CANCEL_TRAINING, { id }).then(
      () => {
        markCancel(id, 'requested');
        props.onChanged();
      },
      (failure: Error) => {
        markCancel(id, null);
        setError(failure);
      },
    );
  };
  return (
    <div className="table-scroll">
      <table className="runs" data-testid="runs-table">
        <thead>
          <tr>
            <th scope="col">Run</th>
            <th scope="col">Status</th>
            <th scope="col">Progress</th>
            <th scope="col">Created</th>
            <th scope="col">Finished</th>
            <th scope="col">Model version</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => (
            <tr key={run.id} className={run.id === selected ? 'selected' : undefined} data-run-id={run.id}>
              <td>
                <Link href={`/training?run=${run.id}`}>#{run.databaseId}</Link>
              </td>
              <td>
                <StatusText status={run.status} />
                {run.error && <span className="error small"> {run.error}</span>}
              </td>
              <td>
                <ProgressBar progress={run.progress} /> {progressText(run.progress)}
              </td>
              <td>{dateTimeText(run.createdAt)}</td>
              <td>{run.finishedAt ? dateTimeText(run.finishedAt) : '—'}</td>
              <td>
                {run.modelVersion ? (
                  <Link href={`/training?a=${run.modelVersion.id}`}>
                    {run.modelVersion.name} (#{run.modelVersion.databaseId})
                  </Link>
                ) : (
                  '—'
                )}
              </td>
              <td>
                {ACTIVE.has(run.status) && (
                  <button type="button" onClick={() => cancel(run.id)} disabled={cancelling.has(run.id)}>
                    {cancelLabel(cancelling.get(run.id))}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {error && <ErrorNote error={error} />}
    </div>
  );
}

type Progress = TrainingRunSummaryFragment['progress'];

function ProgressBar({ progress }: { progress: Progress }) {
  const step = progress?.step;
  const total = progress?.totalSteps;
  if (typeof step !== 'number' || typeof total !== 'number' || total <= 0) return null;
  return <progress value={step} max={total} aria-label="training progress" />;
}

/**
 * "epoch 2/26 · step 340/1000 (34%)" from the progress fields the run has reported. The trainer
 * stores the epoch under way counted from 0; people count from 1, as `kfashion train` and
 * `kfashion demo` print it (a finished run of 5 epochs stays at stored epoch 4: shown 5/5).
 */
export function progressText(progress: Progress): string {
  if (!progress) return '—';
  const parts: string[] = [];
  if (progress.phase && progress.phase !== 'TRAINING') parts.push(progress.phase.toLowerCase());
  const { epoch, epochs, step, totalSteps: total } = progress;
  if (epoch != null) parts.push(epochs != null ? `epoch ${Math.min(epoch + 1, epochs)}/${epochs}` : `epoch ${epoch + 1}`);
  if (step != null) parts.push(`step ${step}${total != null ? `/${total} (${Math.round((100 * step) / total)}%)` : ''}`);
  if (progress.imagesPerSecond != null) parts.push(`${formatNumber(progress.imagesPerSecond)} img/s`);
  if (progress.etaSeconds != null) parts.push(`ETA ${Math.round(progress.etaSeconds / 60)} min`);
  const skipped = progress.skippedImages;
  if (skipped) parts.push(`${skipped} image${skipped === 1 ? '' : 's'} skipped`);
  return parts.length ? parts.join(' · ') : '—';
}

function RunDetail({ id, tick }: { id: string; tick: number }) {
  const [run, setRun] = useState<RunWithMetrics | null | undefined>(undefined);
  const [error, setError] = useState<Error | null>(null);
  const [following, setFollowing] = useState<'no' | 'connecting' | 'yes' | 'failed'>('no');
  const active = run ? ACTIVE.has(run.status) : false;

  // Live: every update of the run over the subscription; on failure the page's refresh goes on.
  useEffect(() => {
    if (!active) return;
    setFollowing('connecting');
    return subscribe(
      TRAINING_RUN_UPDATED,
      { id },
      {
        next: (data) => {
          setRun(data.trainingRunUpdated);
          setFollowing('yes');
        },
        error: () => setFollowing('failed'),
        complete: () => setFollowing('no'),
      },
    );
  }, [id, active]);
  useEffect(() => {
    const controller = new AbortController();
    fetchGraphQL(TRAINING_RUN, { id }, controller.signal).then(
      (data) => setRun(data.trainingRun ?? null),
      (failure: Error) => !controller.signal.aborted && setError(failure),
    );
    return () => controller.abort();
  }, [id, tick]);
  if (error) return <ErrorNote error={error} />;
  if (run === undefined) return <p className="muted">Loading run {id}…</p>;
  if (run === null) return <p className="error">No training run {id}.</p>;
  const byName = new Map<string, { step: number; value: number }[]>();
  for (const metric of run.metrics) {
    const series = byName.get(metric.name) ?? [];
    series.push({ step: metric.step, value: metric.value });
    byName.set(metric.name, series);
  }
  return (
    <section className="run-detail" aria-labelledby="run-heading" data-testid="run-detail">
      <h2 id="run-heading">
        Run #{run.databaseId} <StatusText status={run.status} />{' '}
        <button type="button" className="link-button" onClick={() => navigate('/training')}>
          close
        </button>
      </h2>
      {active && (
        <p className="muted small" data-testid="run-following">
          {following === 'yes'
            ? 'Following live updates.'
            : following === 'failed'
              ? 'Live updates unavailable; refreshing every 5 s.'
              : following === 'connecting'
                ? 'Connecting for live updates…'
                : 'Refreshing every 5 s.'}
        </p>
      )}
      {run.error && <p className="error">{run.error}</p>}
      <details>
        <summary>Parameters</summary>
        {/* Parameters a run did not record (older runs) are null: left out. */}
        <pre>
          {JSON.stringify(
            Object.fromEntries(Object.entries(run.params).filter(([key, value]) => value !== null && key !== '__typename')),
            null,
            2,
          )}
        </pre>
      </details>
      {byName.size === 0 ? (
        <p className="muted">No metrics recorded yet.</p>
      ) : (
        <div className="charts">
          {[...byName].map(([name, points]) => (
            <LineChart key={name} title={name} points={points} />
          ))}
        </div>
      )}
    </section>
  );
}

function VersionComparison(props: { versions: ModelVersion[]; query: string; onChanged: () => void }) {
  const { versions, query } = props;
  const [error, setError] = useState<Error | null>(null);
  const activate = (id: string) => {
    setError(null);
    fetchGraphQL(ACTIVATE_MODEL_VERSION, { id }).then(props.onChanged, setError);
  };
  const params = new URLSearchParams(query);
  const pick = (key: string, fallback: ModelVersion | undefined) => versions.find((version) => version.id === params.get(key)) ?? fallback;
  const first = pick('a', versions[0]);
  const second = pick('b', versions[1]);
  const choose = (key: 'a' | 'b', id: string) => {
    const next = new URLSearchParams(query);
    next.set(key, id);
    navigate(`/training?${next}`, { replace: true });
  };
  const shown = [first, second].filter((version): version is ModelVersion => !!version);
  return (
    <>
      <div className="compare-pickers">
        {(['a', 'b'] as const).slice(0, Math.min(2, versions.length)).map((key, i) => (
          <label key={key}>
            {i === 0 ? 'Version' : 'compared with'}{' '}
            <select value={shown[i]?.id ?? ''} onChange={(event) => choose(key, event.target.value)}>
              {versions.map((version) => (
                <option key={version.id} value={version.id}>
                  {version.name} (#{version.id}, {version.backbone}){version.isActive ? ' active' : ''}
                </option>
              ))}
            </select>
          </label>
        ))}
      </div>
      <p className="activate">
        {shown.map((version) =>
          version.isActive ? (
            <span key={version.id} className="tag" data-testid="active-version">
              {version.name} is the active model
            </span>
          ) : (
            <button key={version.id} type="button" onClick={() => activate(version.id)}>
              Make {version.name} the active model
            </button>
          ),
        )}
      </p>
      {error && <ErrorNote error={error} />}
      <EvaluationTables versions={shown} />
    </>
  );
}

/** A run's status as people read it (the API's enum value in lower case), styled by it. */
function StatusText({ status }: { status: JobStatus }) {
  const text = status.toLowerCase();
  return <span className={`status status-${text}`}>{text}</span>;
}
