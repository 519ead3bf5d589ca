#!/usr/bin/env node
/**
 * Regenerates test/ml/fixtures/tfjs_node_kernels.json: the TensorFlow.js kernels that the native backend of
 * @tensorflow/tfjs-node (the same kernels as @tensorflow/tfjs-node-gpu) registers, read from its published
 * package. `npm pack` fetches the tarball from the registry without running its install script (which would
 * download libtensorflow), so this runs on any machine with npm:
 *
 *   node tools/tfjs-node-kernels.js [version]      # default: the version package.json names
 *
 * The package registers the kernels of dist/register_all_kernels.js's `kernelConfigs` list; each config's
 * kernelName is a tfjs-core constant (tfjs_1.Conv2D) or a string literal, resolved here to the kernel's name.
 */
'use strict';
const { execFileSync } = require('node:child_process');
const { mkdtempSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const tfjsCore = require('@tensorflow/tfjs-core');

const PACKAGE = '@tensorflow/tfjs-node';
const ROOT = join(__dirname, '..');
const OUTPUT = join(ROOT, 'test/ml/fixtures/tfjs_node_kernels.json');

function declaredVersion() {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  return manifest.optionalDependencies[PACKAGE];
}

/** The kernel name one config object of a kernels/*.js file registers. */
function kernelNameOf(source, configName, file) {
  const match = new RegExp(`exports\\.${configName} = \\{\\s*kernelName: ([^,\\n]+),`).exec(source);
  if (!match) throw new Error(`${file}: no kernelName in exports.${configName}`);
  const expression = match[1].trim();
  const literal = /^'([^']+)'$/.exec(expression);
  if (literal) return literal[1];
  const constant = /^\w+\.(\w+)$/.exec(expression);
  const name = constant && tfjsCore[constant[1]];
  if (typeof name !== 'string') throw new Error(`${file}: cannot resolve kernelName ${expression}`);
  return name;
}

function registeredKernels(packageDir) {
  const register = readFileSync(join(packageDir, 'dist/register_all_kernels.js'), 'utf8');
  const modules = new Map([...register.matchAll(/var (\w+) = require\("\.\/kernels\/(\w+)"\);/g)].map((m) => [m[1], m[2]]));
  const list = /var kernelConfigs = \[([\s\S]*?)\];/.exec(register);
  if (!list) throw new Error('register_all_kernels.js: no kernelConfigs list');
  const names = [...list[1].matchAll(/(\w+)\.(\w+)/g)].map(([, moduleVar, configName]) => {
    const file = `dist/kernels/${modules.get(moduleVar)}.js`;
    return kernelNameOf(readFileSync(join(packageDir, file), 'utf8'), configName, file);
  });
  return [...new Set(names)].sort();
}

function main() {
  const version = process.argv[2] ?? declaredVersion();
  const work = mkdtempSync(join(tmpdir(), 'tfjs-node-kernels-'));
  try {
    const tarball = execFileSync('npm', ['pack', `${PACKAGE}@${version}`, '--silent'], { cwd: work, encoding: 'utf8' })
      .trim()
      .split('\n')
      .pop();
    execFileSync('tar', ['xzf', tarball], { cwd: work });
    const kernels = registeredKernels(join(work, 'package'));
    const fixture = {
      source: `${PACKAGE}@${version} (npm pack), dist/register_all_kernels.js`,
      producedBy: 'node tools/tfjs-node-kernels.js',
      backend: 'tensorflow',
      kernels,
    };
    writeFileSync(OUTPUT, `${JSON.stringify(fixture, null, 2)}\n`);
    process.stdout.write(`${kernels.length} kernels of ${PACKAGE}@${version} written to ${OUTPUT}\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main();
