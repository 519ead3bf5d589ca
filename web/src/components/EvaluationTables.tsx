/**
 * A model version's evaluation report (model_versions.metrics as the trainer stores it: COCO box
 * AP overall and per category, attribute accuracy/F1 per kind, Fashionpedia AP), for one or two
 * versions side by side with the difference. Reports of another shape are listed key by key.
 */
import { formatNumber } from './LineChart';

type Metric = number | null;

interface EvaluationReport {
  images?: number;
  detections?: number;
  box: {
    map: Metric;
    ap50: Metric;
    ap75: Metric;
    ar100: Metric;
    perCategory: { name: string; groundTruth: number; ap: Metric; ap50: Metric }[];
  };
  attributes?: { matched?: { garments: number; kinds: Record<string, KindMetrics> } };
  fashionpedia?: { ap: Metric; apIou50F150: Metric };
}

type KindMetrics =
  | { type: 'single'; evaluated: number; accuracy: Metric; macroF1: Metric }
  | { type: 'multi'; evaluated: number; microF1: Metric; macroF1: Metric; map: Metric };

export interface VersionMetrics {
  id: string;
  name: string;
  metrics: Record<string, unknown> | null;
}

function isReport(metrics: unknown): metrics is EvaluationReport {
  const box = (metrics as EvaluationReport | null)?.box;
  return !!box && typeof box === 'object' && Array.isArray(box.perCategory);
}

interface Row {
  label: string;
  values: (Metric | undefined)[];
  note?: string;
}

function MetricTable(props: { caption: string; versions: VersionMetrics[]; rows: Row[]; testId: string }) {
  const compare = props.versions.length === 2;
  return (
    <div className="table-scroll">
      <table className="metrics" data-testid={props.testId}>
        <caption>{props.caption}</caption>
        <thead>
          <tr>
            <th scope="col">Metric</th>
            {props.versions.map((version) => (
              <th key={version.id} scope="col">
                {version.name}
              </th>
            ))}
            {compare && <th scope="col">Δ</th>}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((row) => {
            const [a, b] = row.values;
            const delta = compare && typeof a === 'number' && typeof b === 'number' ? a - b : null;
            return (
              <tr key={row.label}>
                <th scope="row">
                  {row.label}
                  {row.note && <span className="muted small"> {row.note}</span>}
                </th>
                {row.values.map((value, i) => (
                  <td key={i}>{value === undefined ? '—' : value === null ? 'n/a' : formatNumber(value)}</td>
                ))}
                {compare && (
                  <td className={delta === null ? 'muted' : delta > 0 ? 'better' : delta < 0 ? 'worse' : undefined}>
                    {delta === null ? '—' : `${delta > 0 ? '+' : ''}${formatNumber(delta)}`}
                  </td>
                )}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

export function EvaluationTables({ versions }: { versions: VersionMetrics[] }) {
  if (versions.every((version) => !version.metrics))
    return <p className="muted">No evaluation metrics stored for {versions.length > 1 ? 'these versions' : 'this version'}.</p>;
  if (!versions.every((version) => isReport(version.metrics))) return <GenericMetrics versions={versions} />;
  const reports = versions.map((version) => version.metrics as unknown as EvaluationReport);
  const pick = (read: (report: EvaluationReport) => Metric | undefined) => reports.map((report) => read(report));
  const categories = [...new Set(reports.flatMap((report) => report.box.perCategory.map((entry) => entry.name)))];
  const kinds = [...new Set(reports.flatMap((report) => Object.keys(report.attributes?.matched?.kinds ?? {})))];
  const kind = (report: EvaluationReport, name: string) => report.attributes?.matched?.kinds[name];
  return (
    <>
      <MetricTable
        caption="Detection"
        testId="metrics-summary"
        versions={versions}
        rows={[
          { label: 'box mAP@[.5:.95]', values: pick((report) => report.box.map) },
          { label: 'box AP50', values: pick((report) => report.box.ap50) },
          { label: 'box AP75', values: pick((report) => report.box.ap75) },
          { label: 'box AR@100', values: pick((report) => report.box.ar100) },
          { label: 'Fashionpedia AP (IoU + F1)', values: pick((report) => report.fashionpedia?.ap) },
        ]}
      />
      <MetricTable
        caption="Box AP per category"
        testId="metrics-categories"
        versions={versions}
        rows={categories.map((name) => ({
          label: name,
          values: pick((report) => report.box.perCategory.find((entry) => entry.name === name)?.ap),
          note: `AP50 ${pick((report) => report.box.perCategory.find((entry) => entry.name === name)?.ap50)
            .map((value) => (typeof value === 'number' ? formatNumber(value) : '—'))
            .join(' / ')}`,
        }))}
      />
      <MetricTable
        caption="Attributes (on detections matched at IoU ≥ 0.5)"
        testId="metrics-attributes"
        versions={versions}
        rows={kinds.flatMap((name) => {
          const type = reports.map((report) => kind(report, name)?.type).find(Boolean);
          return type === 'multi'
            ? [
                { label: `${name} micro-F1`, values: pick((report) => (kind(report, name) as { microF1?: Metric } | undefined)?.microF1) },
                { label: `${name} macro-F1`, values: pick((report) => kind(report, name)?.macroF1) },
                { label: `${name} mAP`, values: pick((report) => (kind(report, name) as { map?: Metric } | undefined)?.map) },
              ]
            : [
                {
                  label: `${name} accuracy`,
                  values: pick((report) => (kind(report, name) as { accuracy?: Metric } | undefined)?.accuracy),
                },
                { label: `${name} macro-F1`, values: pick((report) => kind(report, name)?.macroF1) },
              ];
        })}
      />
    </>
  );
}

/** Dotted keys to values: {"ap": {"coat": 0.4}} → "ap.coat" = 0.4. */
export function flattenMetrics(value: unknown, prefix = '', out = new Map<string, number | string>()): Map<string, number | string> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) flattenMetrics(inner, prefix ? `${prefix}.${key}` : key, out);
  } else if (typeof value === 'number' || typeof value === 'string') out.set(prefix, value);
  else if (value !== undefined) out.set(prefix, JSON.stringify(value));
  return out;
}

function GenericMetrics({ versions }: { versions: VersionMetrics[] }) {
  const flat = versions.map((version) => flattenMetrics(version.metrics ?? {}));
  const keys = [...new Set(flat.flatMap((map) => [...map.keys()]))].sort();
  return (
    <div className="table-scroll">
      <table className="metrics" data-testid="version-metrics">
        <thead>
          <tr>
            <th scope="col">Metric</th>
            {versions.map((version) => (
              <th key={version.id} scope="col">
                {version.name}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {keys.map((key) => (
            <tr key={key}>
              <th scope="row">{key}</th>
              {flat.map((map, i) => {
                const value = map.get(key);
                return <td key={i}>{value === undefined ? '—' : typeof value === 'number' ? formatNumber(value) : value}</td>;
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
