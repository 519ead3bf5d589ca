/**
 * A model sees the decoded file; the images row records the size the dataset declared. They differ when a
 * file was resized after labelling, so detections are scaled back to the row's pixels before they are
 * stored or compared with labels.
 */
/** Detection boxes from the decoded file's pixels to the images row's (they differ when the file was resized). */
export function toStoredPixels<T extends { box: [number, number, number, number] }>(
  detections: T[],
  decoded: { width: number; height: number },
  stored: { width: number; height: number },
): T[] {
  const sx = stored.width / decoded.width;
  const sy = stored.height / decoded.height;
  if (sx === 1 && sy === 1) return detections;
  return detections.map((d) => ({ ...d, box: [d.box[0] * sx, d.box[1] * sy, d.box[2] * sx, d.box[3] * sy] }));
}
