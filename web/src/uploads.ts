/**
 * A photo goes to the API as its raw bytes (POST /uploads, Content-Type the file's type), which
 * answers 201 with an upload id for analyzeImage(uploadId:), or an error status (413 too large,
 * 415 not a JPEG/PNG/WebP, 400 undecodable) with a JSON body whose `error` is meant for the user.
 */
import { authorizationHeaders, noteRefusal } from './api-token';

export const UPLOADS_PATH = '/uploads';

export interface Upload {
  uploadId: string;
  width: number;
  height: number;
  format: string;
}

export async function uploadPhoto(file: File): Promise<Upload> {
  let response: Response;
  try {
    // A file the browser cannot type goes as octet-stream, so the API's 415 says what it accepts.
    response = await fetch(UPLOADS_PATH, {
      method: 'POST',
      headers: { 'content-type': file.type || 'application/octet-stream', ...authorizationHeaders() },
      body: file,
    });
  } catch (error) {
    throw new Error(`${file.name}: the API at ${UPLOADS_PATH} is unreachable (${(error as Error).message})`);
  }
  noteRefusal(response.status);
  const body = (await response.json().catch(() => null)) as Partial<Upload & { error: string }> | null;
  if (response.status === 201 && typeof body?.uploadId === 'string') return body as Upload;
  throw new Error(`${file.name}: ${typeof body?.error === 'string' ? body.error : `the API answered ${response.status}`}`);
}
