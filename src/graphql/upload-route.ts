/**
 * `POST /uploads`: a photo for analysis, as the raw bytes of the request body (streamed to disk, never
 * held in memory whole). Answers 201 `{"uploadId", "width", "height", "format"}`; the id is then
 * given to `analyzeImage(uploadId:)`. Errors: 413 (over the byte or pixel bound), 415 (not a JPEG,
 * PNG or WebP), 400 (damaged or truncated), each `{"error", "code"}`.
 *
 * CSRF: the request must declare an image (or octet-stream) Content-Type. A cross-site HTML form can
 * only send the three CORS-safelisted types, and a cross-site script sending any other type needs a
 * preflight that this server never grants, so no other site can make a browser upload here.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_UPLOAD_BYTES, UploadRejected, UploadStore } from '../uploads/upload-store';
import { sendJson } from '../util/http-json';

export const UPLOADS_PATH = '/uploads';
const ACCEPTED_TYPES = new Set(['image/jpeg', 'image/png', 'image/webp', 'application/octet-stream']);

export async function handleUpload(
  request: IncomingMessage,
  response: ServerResponse,
  store: UploadStore,
  maxBytes = MAX_UPLOAD_BYTES,
): Promise<void> {
  const refuse = (status: number, code: string, error: string) => {
    // The rest of a refused body is not read: close the connection after answering.
    response.setHeader('connection', 'close');
    sendJson(response, status, { error, code });
  };
  if (request.method !== 'POST') return refuse(405, 'METHOD_NOT_ALLOWED', 'POST the photo as the request body');
  const type = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (!ACCEPTED_TYPES.has(type))
    return refuse(415, 'UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be image/jpeg, image/png, image/webp or application/octet-stream');
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes)
    return refuse(413, 'UPLOAD_TOO_LARGE', `the photo is larger than ${maxBytes} bytes`);
  try {
    const upload = await store.stage(request, maxBytes);
    sendJson(response, 201, { uploadId: upload.uploadId, width: upload.width, height: upload.height, format: upload.format });
  } catch (error) {
    if (!(error instanceof UploadRejected)) throw error;
    refuse(error.status, error.code, error.message);
  }
}
