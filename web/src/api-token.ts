/**
 * The API token the console sends (Authorization: Bearer on HTTP, connectionParams on graphql-ws),
 * kept in localStorage. It is also set as a SameSite=Strict cookie because <img> requests to the
 * image routes cannot carry a header; the server accepts that cookie for image reads only.
 */
const STORAGE_KEY = 'kfashion.apiToken';
const COOKIE_NAME = 'kfashion_token';
/** Dispatched on window when the API refused a request for want of a (better) token. */
export const TOKEN_NEEDED = 'kfashion:token-needed';

/**
 * The browser globals this module uses, typed here: the project's Node typecheck also compiles
 * the console modules that tests import, without the DOM library.
 */
interface BrowserGlobals {
  localStorage: { getItem(key: string): string | null; setItem(key: string, value: string): void; removeItem(key: string): void };
  document: { cookie: string };
  dispatchEvent(event: Event): boolean;
}
const browser = globalThis as unknown as BrowserGlobals;

export function apiToken(): string | null {
  return browser.localStorage.getItem(STORAGE_KEY);
}

export function setApiToken(token: string | null): void {
  if (token) browser.localStorage.setItem(STORAGE_KEY, token);
  else browser.localStorage.removeItem(STORAGE_KEY);
  const value = token ? encodeURIComponent(token) : '';
  browser.document.cookie = `${COOKIE_NAME}=${value}; path=/; SameSite=Strict${token ? '' : '; max-age=0'}`;
}

export function authorizationHeaders(): Record<string, string> {
  const token = apiToken();
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** Tells the token field to ask when the API answered 401/403 or an UNAUTHENTICATED/FORBIDDEN error. */
export function noteRefusal(status: number, codes: (string | undefined)[] = []): void {
  if (status === 401 || status === 403 || codes.some((code) => code === 'UNAUTHENTICATED' || code === 'FORBIDDEN')) {
    browser.dispatchEvent(new Event(TOKEN_NEEDED));
  }
}
