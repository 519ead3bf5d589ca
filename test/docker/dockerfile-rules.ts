/**
 * Dockerfile lint for test/docker: dockerfile-utils' validator (the Docker builder's own syntax and
 * argument checks, as the VS Code Docker extension runs them) plus the house rules hadolint would
 * enforce and that Debian bookworm has no linter for:
 * - every base image has a pinned tag (not `latest`, with a version number) or a digest, ARG defaults
 *   before the first FROM resolved as the builder does;
 * - the final stage runs as a non-root USER, has a HEALTHCHECK, and exec-form CMD/ENTRYPOINT;
 * - no ADD (COPY for local files; no downloads from URLs without a checksum);
 * - apt-get install with --no-install-recommends and the package lists removed in the same RUN;
 * - npm ci rather than npm install (the lock file decides); no `curl | sh`.
 */
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';

export interface Stage {
  /** the FROM image with ARG defaults substituted */
  image: string;
  name: string | null;
  instructions: Instruction[];
}

export interface ParsedDockerfile {
  stages: Stage[];
  problems: string[];
}

function line(instruction: Instruction): number {
  return instruction.getRange().start.line + 1;
}

function substitute(text: string, args: Map<string, string>): string {
  return text.replace(
    /\$\{(\w+)\}|\$(\w+)/g,
    (whole, braced: string | undefined, bare: string | undefined) => args.get((braced ?? bare) as string) ?? whole,
  );
}

function imageProblem(image: string, earlierStages: Set<string>): string | null {
  if (earlierStages.has(image)) return null;
  if (image.includes('$')) return `base image ${image} has an unresolved variable`;
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return null;
  const tag = /:([^/:]+)$/.exec(image)?.[1];
  if (!tag) return `base image ${image} has no tag: pin a version`;
  if (tag === 'latest' || !/\d/.test(tag)) return `base image ${image} is not pinned to a version (tag ${tag})`;
  return null;
}

function runProblems(instruction: Instruction): string[] {
  const command = instruction.getRawArgumentsContent() ?? '';
  const problems: string[] = [];
  if (/apt-get\s+(-\S+\s+)*install/.test(command)) {
    if (!command.includes('--no-install-recommends')) problems.push('apt-get install without --no-install-recommends');
    if (!/rm -rf \/var\/lib\/apt\/lists/.test(command))
      problems.push('apt-get install without removing /var/lib/apt/lists in the same RUN');
  }
  if (/\bnpm\s+(install|i)\b/.test(command)) problems.push('npm install: use npm ci (the lock file decides)');
  if (/\b(curl|wget)\b[^|]*\|\s*(ba)?sh\b/.test(command)) problems.push('piping a download into a shell');
  return problems;
}

export function parseDockerfile(text: string, file: string): ParsedDockerfile {
  const problems = validate(text).map((d) => `${file}:${d.range.start.line + 1}: ${d.message}`);
  const dockerfile = DockerfileParser.parse(text);
  const args = new Map<string, string>();
  for (const arg of dockerfile.getInitialARGs()) {
    const property = arg.getProperty();
    if (property?.getValue()) args.set(property.getName(), property.getValue() as string);
  }
  const stages: Stage[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    const keyword = instruction.getKeyword();
    if (keyword === 'FROM') {
      const [image, , name] = (instruction.getArgumentsContent() ?? '').split(/\s+/);
      stages.push({ image: substitute(image ?? '', args), name: name ?? null, instructions: [] });
      continue;
    }
    stages[stages.length - 1]?.instructions.push(instruction);
    const where = `${file}:${line(instruction)}`;
    if (keyword === 'ADD') problems.push(`${where}: ADD: use COPY (and no downloads by URL)`);
    if (keyword === 'RUN') problems.push(...runProblems(instruction).map((p) => `${where}: ${p}`));
  }
  const earlier = new Set<string>();
  for (const stage of stages) {
    const problem = imageProblem(stage.image, earlier);
    if (problem) problems.push(`${file}: ${problem}`);
    if (stage.name) earlier.add(stage.name);
  }
  problems.push(...finalStageProblems(stages[stages.length - 1], file));
  return { stages, problems };
}

function finalStageProblems(stage: Stage | undefined, file: string): string[] {
  if (!stage) return [`${file}: no FROM`];
  const of = (keyword: string) => stage.instructions.filter((i) => i.getKeyword() === keyword);
  const problems: string[] = [];
  const user = of('USER').pop()?.getArgumentsContent()?.split(':')[0];
  if (!user || user === 'root' || user === '0') problems.push(`${file}: the final stage must switch to a non-root USER`);
  const healthcheck = of('HEALTHCHECK').pop()?.getArgumentsContent();
  if (!healthcheck || /^NONE$/i.test(healthcheck.trim())) problems.push(`${file}: the final stage needs a HEALTHCHECK`);
  for (const keyword of ['CMD', 'ENTRYPOINT']) {
    for (const instruction of of(keyword)) {
      if (!(instruction.getArgumentsContent() ?? '').trim().startsWith('['))
        problems.push(`${file}:${line(instruction)}: ${keyword} in shell form: use the exec (JSON) form`);
    }
  }
  if (of('CMD').length + of('ENTRYPOINT').length === 0) problems.push(`${file}: the final stage has no CMD or ENTRYPOINT`);
  return problems;
}
