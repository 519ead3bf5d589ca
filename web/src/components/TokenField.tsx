/**
 * The API token field in the header: a small button while no request was refused, the field with
 * a note once the API asked for a token. Saving reloads the page so every request and the live
 * updates start again with the new token.
 */
import { FormEvent, useEffect, useState } from 'react';
import { apiToken, setApiToken, TOKEN_NEEDED } from '../api-token';

export function TokenField() {
  const [open, setOpen] = useState(false);
  const [needed, setNeeded] = useState(false);
  const [value, setValue] = useState(() => apiToken() ?? '');
  useEffect(() => {
    const ask = () => {
      setNeeded(true);
      setOpen(true);
    };
    window.addEventListener(TOKEN_NEEDED, ask);
    return () => window.removeEventListener(TOKEN_NEEDED, ask);
  }, []);
  const save = (event: FormEvent) => {
    event.preventDefault();
    setApiToken(value.trim() || null);
    window.location.reload();
  };
  if (!open) {
    return (
      <button type="button" className="token-toggle" onClick={() => setOpen(true)}>
        {apiToken() ? 'Token ✓' : 'API token'}
      </button>
    );
  }
  return (
    <form className="token" onSubmit={save} data-testid="api-token">
      {needed && <span role="alert">The API needs a token with a sufficient role for this.</span>}
      <label htmlFor="api-token">API token</label>
      <input
        id="api-token"
        name="apiToken"
        type="password"
        autoComplete="off"
        placeholder="kf_…"
        value={value}
        onChange={(event) => setValue(event.target.value)}
      />
      <button type="submit">Save</button>
    </form>
  );
}
