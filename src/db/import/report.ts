/**
 * The import report: one JSON line per rejected file, rejected garment or repaired value, so a
 * user can find and fix every input the importer could not use as it was.
 */
import * as fs from 'node:fs';
import { once } from 'node:events';
import type { AnnotationProblem, SuperCategory } from '../../kfashion/types';

export type ReportAction = 'rejected' | 'repaired';

export interface ReportLine {
  /** Annotation file, relative to the imported root. */
  file: string;
  reason: string;
  action: ReportAction;
  /** JSON field the reason is about (Korean key path), when there is one. */
  field?: string;
  /** Set when only this garment is concerned; the rest of the file was imported. */
  superCategory?: SuperCategory;
  slotIndex?: number;
}

/** A whole file that could not be imported, with every reason found (joined into one line). */
export function fileRejection(file: string, problems: Pick<AnnotationProblem, 'field' | 'reason'>[]): ReportLine {
  const [first] = problems;
  return {
    file,
    reason: problems.map((problem) => problem.reason).join('; ') || 'rejected',
    action: 'rejected',
    ...(first?.field ? { field: first.field } : {}),
  };
}

/**
 * Report lines for the problems of a file that was imported: one per garment and action (a
 * garment with two repaired values gets one line naming both), one per repaired file-level value.
 */
export function problemLines(file: string, problems: AnnotationProblem[]): ReportLine[] {
  const lines = new Map<string, ReportLine>();
  for (const problem of problems) {
    const action: ReportAction = problem.repaired ? 'repaired' : 'rejected';
    const garment = problem.garment;
    const key = garment ? `${garment.superCategory}/${garment.slotIndex}/${action}` : `file/${problem.field}/${action}`;
    const existing = lines.get(key);
    if (existing) {
      existing.reason += `; ${problem.reason}`;
      continue;
    }
    lines.set(key, {
      file,
      reason: problem.reason,
      action,
      field: problem.field,
      ...(garment ? { superCategory: garment.superCategory, slotIndex: garment.slotIndex } : {}),
    });
  }
  return [...lines.values()];
}

/** Appends report lines to a file; lines are written only for committed batches. */
export class ReportWriter {
  private constructor(private readonly stream: fs.WriteStream | null) {}

  static async open(reportPath: string | undefined): Promise<ReportWriter> {
    if (!reportPath) return new ReportWriter(null);
    const stream = fs.createWriteStream(reportPath, { flags: 'w' });
    await Promise.race([
      once(stream, 'open'),
      once(stream, 'error').then(([error]) => {
        throw new Error(`cannot write the report ${reportPath}: ${(error as Error).message}`);
      }),
    ]);
    return new ReportWriter(stream);
  }

  async write(lines: ReportLine[]): Promise<void> {
    if (!this.stream || lines.length === 0) return;
    const text = lines.map((line) => JSON.stringify(line)).join('\n') + '\n';
    if (!this.stream.write(text)) await once(this.stream, 'drain');
  }

  async close(): Promise<void> {
    if (!this.stream) return;
    this.stream.end();
    await once(this.stream, 'finish');
  }
}
