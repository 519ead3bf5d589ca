/**
 * Who may do what: each role may do everything the roles before it may. `viewer` reads (queries,
 * images, subscriptions), `analyst` also analyses and uploads photos and starts batch
 * predictions, `editor` also corrects garments and reviews images, `admin` also trains, cancels
 * and activates model versions.
 */
export const ROLES = ['viewer', 'analyst', 'editor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** The caller of one request: the role of its token, or null when it sent none. */
export interface Principal {
  role: Role | null;
  tokenId?: string;
}

export const ANONYMOUS: Principal = { role: null };

export interface Denial {
  code: 'UNAUTHENTICATED' | 'FORBIDDEN';
  status: 401 | 403;
  message: string;
}

/**
 * Why `principal` may not do what needs `required`, or null when it may. With `publicRead`,
 * anonymous callers may read (what needs `viewer`) but never write.
 */
export function denial(principal: Principal, required: Role, publicRead: boolean): Denial | null {
  if (principal.role === null) {
    if (required === 'viewer' && publicRead) return null;
    return { code: 'UNAUTHENTICATED', status: 401, message: `this needs an API token with the ${required} role (Authorization: Bearer …)` };
  }
  if (ROLES.indexOf(principal.role) >= ROLES.indexOf(required)) return null;
  return { code: 'FORBIDDEN', status: 403, message: `this needs the ${required} role; the token's role is ${principal.role}` };
}
