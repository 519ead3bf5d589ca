/** docker/*.Dockerfile: linted (test/docker/dockerfile-rules.ts) and checked for what each image must contain. */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModifiableInstruction } from 'dockerfile-ast';
import { parseDockerfile, type Stage } from './dockerfile-rules';
import { buildContext, checkoutFiles, filesOfSource, isExcluded, parseDockerignore } from './build-context';

const ROOT = join(__dirname, '../..');
/** What a clean checkout has, and what of it Docker receives as the build context. */
const CHECKOUT = checkoutFiles(ROOT);
const CONTEXT = buildContext(ROOT);
const DOCKERFILES = ['api.Dockerfile', 'model-server.Dockerfile', 'model-server-onnx.Dockerfile'];

function load(name: string) {
  return parseDockerfile(readFileSync(join(ROOT, 'docker', name), 'utf8'), `docker/${name}`);
}

/** The arguments of a stage's instructions, flags first (`--from=build a b`), continuation lines joined. */
function commands(stage: Stage, keyword: string): string[] {
  return stage.instructions
    .filter((i) => i.getKeyword() === keyword)
    .map((i) => {
      const flags = i instanceof ModifiableInstruction ? i.getFlags().map((f) => `--${f.getName()}=${f.getValue()} `) : [];
      return flags.join('') + (i.getRawArgumentsContent() ?? '').replace(/\\\n\s*/g, ' ').trim();
    });
}

describe('the Dockerfile lint', () => {
  it('finds every rule broken in a bad Dockerfile', () => {
    const bad = [
      'from node:latest',
      'FROM ubuntu AS tools',
      'ADD https://example.invalid/tool.tar.gz /opt/',
      'RUN apt-get update && apt-get install -y curl',
      'RUN npm install && curl -fsSL https://example.invalid/x.sh | sh',
      'WORKDIR app',
      'CMD node server.js',
    ].join('\n');
    const problems = parseDockerfile(bad, 'bad.Dockerfile').problems.join('\n');
    for (const expected of [
      /bad\.Dockerfile:1: Instructions should be written in uppercase letters/,
      /base image node:latest is not pinned/,
      /base image ubuntu has no tag/,
      /:3: ADD: use COPY/,
      /:4: apt-get install without --no-install-recommends/,
      /:4: apt-get install without removing \/var\/lib\/apt\/lists/,
      /:5: npm install: use npm ci/,
      /:5: piping a download into a shell/,
      /:6: .*WORKDIR/i,
      /non-root USER/,
      /needs a HEALTHCHECK/,
      /:7: CMD in shell form/,
    ]) {
      expect(problems).toMatch(expected);
    }
  });

  it('resolves ARG defaults in FROM as the builder does', () => {
    const viaArg = parseDockerfile(
      'ARG BASE=node:latest\nFROM ${BASE}\nUSER node\nHEALTHCHECK CMD ["true"]\nCMD ["node"]',
      'arg.Dockerfile',
    );
    expect(viaArg.stages[0].image).toBe('node:latest');
    expect(viaArg.problems).toEqual(['arg.Dockerfile: base image node:latest is not pinned to a version (tag latest)']);
  });
});

describe('the build context', () => {
  it('matches .dockerignore as Docker does: folders, ** and * by path segment, ! exceptions, the last match decides', () => {
    const patterns = parseDockerignore('# comment\n.git\n**/node_modules\nweb/dist\n*.log\n/docs/*.png\n!docs/keep.png\n');
    expect(isExcluded('.git/HEAD', patterns)).toBe(true);
    expect(isExcluded('web/node_modules/react/index.js', patterns)).toBe(true);
    expect(isExcluded('node_modules/x.js', patterns)).toBe(true);
    expect(isExcluded('web/dist/index.html', patterns)).toBe(true);
    expect(isExcluded('web/src/dist.ts', patterns)).toBe(false);
    expect(isExcluded('server.log', patterns)).toBe(true);
    expect(isExcluded('logs/server.log', patterns)).toBe(false);
    expect(isExcluded('docs/search-page.png', patterns)).toBe(true);
    expect(isExcluded('docs/keep.png', patterns)).toBe(false);
    expect(isExcluded('docs/sub/a.png', patterns)).toBe(false);
  });

  it('is the checkout without tests, benchmarks, tools and secrets, with the sources', () => {
    expect(CONTEXT.filter((f) => /^(test|bench|tools)\/|(^|\/)\.env$|^\.git\//.test(f))).toEqual([]);
    expect(CONTEXT).toEqual(
      expect.arrayContaining(['package.json', 'package-lock.json', 'bin/kfashion.js', 'src/index.ts', 'web/index.html']),
    );
  });
});

describe('the images together', () => {
  const files = DOCKERFILES.map((name) => ({ name, text: readFileSync(join(ROOT, 'docker', name), 'utf8'), ...load(name) }));

  it('use the same Node.js image', () => {
    const nodeImages = new Set(files.map((f) => /^ARG NODE_IMAGE=(\S+)$/m.exec(f.text)?.[1]));
    expect([...nodeImages]).toHaveLength(1);
    expect([...nodeImages][0]).toMatch(/^node:\d+\.\d+\.\d+-bookworm-slim$/);
  });

  it("pin every CUDA base image by digest, and run each CUDA image's stages on the same one", () => {
    for (const { name, stages } of files) {
      const cuda = new Set(stages.map((s) => s.image).filter((image) => image.startsWith('nvidia/')));
      if (name === 'api.Dockerfile') expect(cuda.size).toBe(0);
      else expect([...cuda]).toEqual([expect.stringMatching(/@sha256:[0-9a-f]{64}$/)]);
    }
  });

  it('run every npm ci from the lock file with the same flags: no install scripts (the native downloads are explicit steps), no audit, no fund', () => {
    const installs = files
      .flatMap(({ stages }) => stages.flatMap((s) => commands(s, 'RUN')))
      .flatMap((c) => c.split('&&'))
      .map((c) => c.trim())
      .filter((c) => c.startsWith('npm ci'));
    expect(installs).toHaveLength(6);
    for (const install of installs) expect(install.replace(' --omit=dev', '')).toBe('npm ci --ignore-scripts --no-audit --no-fund');
  });
});

describe.each(DOCKERFILES)('docker/%s', (name) => {
  const { stages, problems } = load(name);
  const final = stages[stages.length - 1];

  it('passes the lint', () => {
    expect(problems).toEqual([]);
  });

  it('builds with the dev dependencies in a separate stage and ships only production ones', () => {
    const build = stages.find((s) => s.name === 'build') as Stage;
    expect(commands(build, 'RUN')).toEqual(expect.arrayContaining([expect.stringMatching(/^npm ci\b/), 'npm run build']));
    const productionInstalls = stages.flatMap((s) => commands(s, 'RUN')).filter((c) => /^npm ci .*--omit=dev/.test(c));
    expect(productionInstalls).toHaveLength(1);
    expect(commands(final, 'COPY')).toEqual(expect.arrayContaining(['--from=build /app/dist ./dist']));
  });

  it('copies only what a clean checkout has and .dockerignore lets through', () => {
    const sources = stages
      .flatMap((s) => commands(s, 'COPY'))
      .filter((c) => !c.startsWith('--from'))
      .flatMap((c) => c.split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(3);
    for (const source of sources) {
      expect(filesOfSource(source, CONTEXT).length > 0 ? source : `${source}: nothing in the build context of a clean checkout`).toBe(
        source,
      );
    }
  });

  it('gives its build stage everything `npm run build` compiles: tsconfig.build.json, what it extends and includes, the web console', () => {
    const build = stages.find((s) => s.name === 'build') as Stage;
    const copied = commands(build, 'COPY')
      .flatMap((c) => c.split(/\s+/).slice(0, -1))
      .flatMap((source) => filesOfSource(source, CONTEXT));
    const buildConfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as { extends: string; include: string[] };
    const needed = [
      'package.json',
      'package-lock.json',
      'tsconfig.build.json',
      buildConfig.extends.replace(/^\.\//, ''),
      'web/tsconfig.json',
      'web/vite.config.mts',
      'web/index.html',
    ];
    for (const folder of [...buildConfig.include, 'web/src'])
      needed.push(...CHECKOUT.filter((f) => f.startsWith(`${folder}/`) && /\.(ts|tsx|mts|css|sql)$/.test(f)));
    expect(needed.length).toBeGreaterThan(100);
    expect(needed.filter((file) => !copied.includes(file))).toEqual([]);
  });

  it('runs `kfashion` as its entry point and checks /health', () => {
    expect(commands(final, 'ENTRYPOINT')).toEqual(['["node", "bin/kfashion.js"]']);
    expect(commands(final, 'HEALTHCHECK').join(' ')).toMatch(/\/health/);
  });
});

describe('docker/model-server.Dockerfile', () => {
  const { stages } = load('model-server.Dockerfile');
  const final = stages[stages.length - 1];

  it('runs on CUDA 11.8 + cuDNN 8 (pinned by digest) with Node 24 and the tensorflow backend', () => {
    expect(final.image).toMatch(/^nvidia\/cuda:11\.8\.0-cudnn8-runtime-ubuntu22\.04@sha256:[0-9a-f]{64}$/);
    expect(stages.find((s) => s.name === 'node')?.image).toMatch(/^node:24\.\d+\.\d+-bookworm-slim$/);
    expect(commands(final, 'ENV').join(' ')).toMatch(/KFASHION_TF_BACKEND=tensorflow/);
    expect(commands(final, 'CMD')).toEqual(['["model-server"]']);
  });

  it('refuses a base image without cuDNN 8.9 (its check run against a fake dpkg-query)', () => {
    const dependencies = stages.find((s) => s.name === 'dependencies') as Stage;
    const check = commands(dependencies, 'RUN')[0];
    expect(check).toMatch(/^dpkg-query /);
    const runWithCudnn = (version: string) => {
      const bin = mkdtempSync(join(tmpdir(), 'kfashion-dpkg-'));
      writeFileSync(
        join(bin, 'dpkg-query'),
        `#!/bin/sh\ntest "$*" = "--showformat=\\\${Version} --show libcudnn8" || exit 3\nprintf '%s' '${version}'\n`,
      );
      chmodSync(join(bin, 'dpkg-query'), 0o755);
      return spawnSync('/bin/sh', ['-c', check], { env: { PATH: `${bin}:/usr/bin:/bin` }, encoding: 'utf8' });
    };
    expect(runWithCudnn('8.9.6.50-1+cuda11.8').status).toBe(0);
    const old = runWithCudnn('8.6.0.163-1+cuda11.8');
    expect(old.status).toBe(1);
    expect(old.stderr).toContain('expected cuDNN 8.9 in CUDA_IMAGE, found libcudnn8 8.6.0.163-1+cuda11.8');
  });

  it('lets TensorFlow grow its GPU memory and keeps the CUDA JIT cache (4 GiB) on the persistent volume', () => {
    const env = commands(final, 'ENV').join(' ');
    expect(env).toMatch(/\bTF_FORCE_GPU_ALLOW_GROWTH=true\b/);
    expect(env).toMatch(/\bCUDA_CACHE_MAXSIZE=4294967296\b/);
    const cachePath = /\bCUDA_CACHE_PATH=(\S+)/.exec(env)?.[1] ?? '';
    const volume = /\["(.+)"\]/.exec(commands(final, 'VOLUME')[0] ?? '')?.[1] ?? 'no VOLUME';
    expect(cachePath.startsWith(`${volume}/`)).toBe(true);
    // created in the image so that the non-root user can write it on a fresh volume
    expect(commands(final, 'RUN').join(' ')).toContain(cachePath);
  });

  it('is healthy only when /health reports status ok, with a start period for the first Hopper JIT', () => {
    const healthcheck = commands(final, 'HEALTHCHECK')[0];
    expect(healthcheck).toMatch(/--start-period=(\d+)m/);
    expect(Number(/--start-period=(\d+)m/.exec(healthcheck)?.[1])).toBeGreaterThanOrEqual(30);
    expect(healthcheck).toMatch(/\/health'\)\.then\(\(r\) => r\.json\(\)\)\.then\(\(h\) => process\.exit\(h\.status === 'ok' \? 0 : 1\)/);
  });

  it('installs @tensorflow/tfjs-node-gpu with its libtensorflow download at build time', () => {
    const dependencies = stages.find((s) => s.name === 'dependencies') as Stage;
    expect(dependencies.image).toBe(final.image);
    expect(commands(dependencies, 'RUN').join('\n')).toMatch(/npm rebuild @tensorflow\/tfjs-node-gpu/);
  });
});

describe('docker/model-server-onnx.Dockerfile', () => {
  const { stages } = load('model-server-onnx.Dockerfile');
  const final = stages[stages.length - 1];
  const dependencies = stages.find((s) => s.name === 'dependencies') as Stage;

  it('runs on CUDA 12 + cuDNN 9 (pinned by digest), the onnx engine, prediction jobs only', () => {
    expect(final.image).toMatch(/^nvidia\/cuda:12\.\d+\.\d+-cudnn-runtime-ubuntu22\.04@sha256:[0-9a-f]{64}$/);
    expect(dependencies.image).toBe(final.image);
    expect(commands(final, 'ENV').join(' ')).toMatch(/KFASHION_ENGINE=onnx/);
    expect(commands(final, 'CMD')).toEqual(['["model-server", "--engine", "onnx", "--queues", "prediction"]']);
  });

  it('installs onnxruntime-node with its CUDA 12 provider download at build time, and checks it arrived', () => {
    const run = commands(dependencies, 'RUN').join('\n');
    expect(run).toMatch(/\(cd node_modules\/onnxruntime-node && ONNXRUNTIME_NODE_INSTALL=cuda12 node script\/install\)/);
    expect(run).toMatch(/test -f node_modules\/onnxruntime-node\/bin\/napi-v6\/linux\/x64\/libonnxruntime_providers_cuda\.so/);
  });

  it('refuses a base image without cuDNN 9 for CUDA 12 (its check run against a fake dpkg-query)', () => {
    const check = commands(dependencies, 'RUN')[0];
    expect(check).toMatch(/^dpkg-query /);
    const runWith = (output: string | null) => {
      const bin = mkdtempSync(join(tmpdir(), 'kfashion-dpkg-'));
      const body =
        output === null ? 'echo "dpkg-query: no packages found matching libcudnn9-cuda-12" >&2; exit 1' : `printf '%s' '${output}'`;
      writeFileSync(
        join(bin, 'dpkg-query'),
        `#!/bin/sh\ntest "$*" = "--showformat=\\\${Version} --show libcudnn9-cuda-12" || exit 3\n${body}\n`,
      );
      chmodSync(join(bin, 'dpkg-query'), 0o755);
      return spawnSync('/bin/sh', ['-c', check], { env: { PATH: `${bin}:/usr/bin:/bin` }, encoding: 'utf8' });
    };
    expect(runWith('9.5.1.17-1').status).toBe(0);
    const missing = runWith(null);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('expected cuDNN 9 for CUDA 12 in CUDA_IMAGE');
  });
});

describe('docker/api.Dockerfile', () => {
  it('runs `kfashion serve` on Node 24 (bookworm-slim) on port 4000', () => {
    const { stages } = load('api.Dockerfile');
    const final = stages[stages.length - 1];
    expect(final.image).toMatch(/^node:24\.\d+\.\d+-bookworm-slim$/);
    expect(commands(final, 'CMD')).toEqual(['["serve"]']);
    expect(commands(final, 'EXPOSE')).toEqual(['4000']);
    // Anonymous reads are off in the image (on by default only with the embedded database).
    expect(commands(final, 'ENV').join(' ')).toMatch(/KFASHION_PUBLIC_READ=0/);
  });
});

describe('the Node.js of the images', () => {
  const engines = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
  const ciMajor = Number(/KFASHION_CI_NODE_MAJOR=(\d+)/.exec(readFileSync(join(ROOT, '.ci/node-lts.sh'), 'utf8'))?.[1]);

  it.each(['api.Dockerfile', 'model-server.Dockerfile', 'model-server-onnx.Dockerfile'])(
    '%s runs the Node.js line CI tests, within package.json engines',
    (name) => {
      const nodeImages = load(name)
        .stages.map((s) => /^node:(\d+)\.(\d+)\.(\d+)-/.exec(s.image))
        .filter((m) => m !== null);
      expect(nodeImages.length).toBeGreaterThan(0);
      const minimum = /^>=(\d+)\.(\d+)\.(\d+)$/.exec(engines);
      expect(minimum).not.toBeNull();
      for (const [, major, minor] of nodeImages) {
        expect(Number(major)).toBe(ciMajor);
        expect(Number(major) * 1000 + Number(minor)).toBeGreaterThanOrEqual(Number(minimum?.[1]) * 1000 + Number(minimum?.[2]));
      }
    },
  );
});
