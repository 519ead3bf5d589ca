/** bench/results.ts: a bench's run added at the end of its section in RESULTS.md, earlier runs and other sections kept. */
import { appendToSection } from '../../bench/results';

const RESULTS = '# Benchmark results\n\n## Import\n\nimport run\n\n## Search\n\nfirst search run\n\n## Demo\n\ndemo run\n';

test('a run goes after the runs already in its section, before the next section', () => {
  expect(appendToSection(RESULTS, 'Search', 'second search run\n')).toBe(
    '# Benchmark results\n\n## Import\n\nimport run\n\n## Search\n\nfirst search run\n\nsecond search run\n\n## Demo\n\ndemo run\n',
  );
});

test('the last section grows at the end, and a missing section is created there', () => {
  expect(appendToSection(RESULTS, 'Demo', 'second demo run\n')).toBe(
    '# Benchmark results\n\n## Import\n\nimport run\n\n## Search\n\nfirst search run\n\n## Demo\n\ndemo run\n\nsecond demo run\n',
  );
  expect(appendToSection(RESULTS, 'Active learning', 'first run\n')).toBe(`${RESULTS}\n## Active learning\n\nfirst run\n`);
});
