import type { Principal } from '../auth/roles';
import type { SearchService } from '../db/search';
import type { SimilarGarments } from '../similarity/similar-garments';
import type { Loaders } from './loaders';
import type { ApiServices } from './services';

/** Bounds of thumbnail and crop sizes, in pixels (the longer side). */
export const THUMBNAIL_SIZES = { default: 256, min: 16, max: 1024 } as const;

/** Builds the URLs of the image routes (relative unless a public base URL is configured). */
export class ImageUrls {
  constructor(private readonly base = '') {}
  original(imageId: string): string {
    return `${this.base}/images/${imageId}`;
  }
  thumbnail(imageId: string, size: number): string {
    return `${this.base}/images/${imageId}/thumbnail?size=${size}`;
  }
  annotated(imageId: string, source: string | null | undefined): string {
    return `${this.base}/images/${imageId}/annotated${source ? `?source=${source}` : ''}`;
  }
  crop(garmentId: string, size: number | null | undefined): string {
    return `${this.base}/garments/${garmentId}/crop${size ? `?size=${size}` : ''}`;
  }
}

export interface GraphQLContext {
  search: SearchService;
  /** Nearest garments by appearance (similarGarments, shopTheLook). */
  similar: SimilarGarments;
  /** Training, prediction and analysis, built once per server. */
  services: ApiServices;
  /** Fresh per request: batching and caching never leak between requests. */
  loaders: Loaders;
  urls: ImageUrls;
  maxPageSize: number;
  /** Who sent the request (checked by `@Authorized` through ./auth.ts). */
  principal: Principal;
  /** Anonymous callers may read (KFASHION_PUBLIC_READ). */
  publicRead: boolean;
}
