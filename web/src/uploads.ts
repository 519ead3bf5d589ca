/**
 * A photo goes to the API as its raw bytes (POST /uploads, Content-Type the file's type), which
 * answers 201 with an upload id for analyzeImage(uploadId:), or an error status (413 too large,
 * 415 not a JPEG/PNG/WebP, 400 undecodable) with a JSON body whose `error` is meant for the user.
 */
export const UPLOADS_PATH = '/uploads';

export interface Upload {
  uploadId: string;
  width: number;
  height: number;
  format: string;
}

export class UploadError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null,
  ) {
    super(message);
    this.name = 'UploadError';
  }
}

export async function uploadPhoto(file: File): Promise<Upload> {
  let response: Response;
  try {
    response = await fetch(UPLOADS_PATH, { method: 'POST', headers: { 'content-type': file.type || 'application/octet-stream' }, body: file });
  } catch (error) {
    throw new UploadError(`${file.name}: the API at ${UPLOADS_PATH} is unreachable (${(error as Error).message})`, 0, null);
  }
  const body = (await response.json().catch(() => null)) as Partial<Upload & { error: string; code: string }> | null;
  if (response.status === 201 && typeof body?.uploadId === 'string') return body as Upload;
  const reason = typeof body?.error === 'string' ? body.error : `the API answered ${response.status}`;
  throw new UploadError(`${file.name}: ${reason}`, response.status, typeof body?.code === 'string' ? body.code : null);
}
