/**
 * A small self-contained query page served at GET /graphql for browsers: no CDN, no external
 * script, so it works offline. It posts JSON to the same endpoint (which CSRF prevention allows).
 */
const EXAMPLE_QUERY = `query Search($where: GarmentWhere!) {
  searchGarments(where: $where, first: 10) {
    totalCount
    edges { node { id superCategory category categoryEn attributes { kind value valueEn } image { externalId url } } }
    pageInfo { hasNextPage endCursor }
  }
  garmentFacets(where: $where, kinds: ["color", "material"]) { kind values { value valueEn count } }
}`;

const EXAMPLE_VARIABLES = `{ "where": { "superCategory": "TOP", "collar": ["bow"] } }`;

export function explorerPage(endpoint: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>K-Fashion GraphQL</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; display: grid; grid-template-columns: 1fr 1fr; height: 100vh; }
  .pane { display: flex; flex-direction: column; padding: 8px; gap: 6px; min-height: 0; }
  textarea, pre { font-family: ui-monospace, monospace; font-size: 13px; border: 1px solid #ccc; padding: 6px; margin: 0; }
  #query { flex: 3; } #variables { flex: 1; } pre { flex: 1; overflow: auto; background: #f7f7f7; white-space: pre-wrap; }
  button { align-self: flex-start; padding: 4px 16px; }
</style></head>
<body>
<div class="pane">
  <label for="query">Query</label><textarea id="query" spellcheck="false"></textarea>
  <label for="variables">Variables (JSON)</label><textarea id="variables" spellcheck="false"></textarea>
  <button id="run">Run (Ctrl+Enter)</button>
</div>
<div class="pane"><label for="result">Result</label><pre id="result"></pre></div>
<script>
  const query = document.getElementById('query'), variables = document.getElementById('variables');
  const result = document.getElementById('result');
  query.value = localStorage.getItem('kf.query') || ${JSON.stringify(EXAMPLE_QUERY)};
  variables.value = localStorage.getItem('kf.variables') || ${JSON.stringify(EXAMPLE_VARIABLES)};
  async function run() {
    localStorage.setItem('kf.query', query.value); localStorage.setItem('kf.variables', variables.value);
    let vars;
    try { vars = variables.value.trim() ? JSON.parse(variables.value) : {}; }
    catch (error) { result.textContent = 'Variables are not JSON: ' + error.message; return; }
    result.textContent = '…';
    const started = performance.now();
    const response = await fetch(${JSON.stringify(endpoint)}, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: query.value, variables: vars }),
    });
    const text = await response.text();
    let shown = text;
    try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (error) {}
    result.textContent = '// ' + response.status + ' in ' + Math.round(performance.now() - started) + ' ms\\n' + shown;
  }
  document.getElementById('run').onclick = run;
  document.addEventListener('keydown', (event) => { if (event.ctrlKey && event.key === 'Enter') run(); });
</script>
</body></html>`;
}
