import { Command, InvalidArgumentError, Option } from 'commander';

interface SynthFlags {
  seed: number;
  size: { width: number; height: number };
  validationFraction: number;
}

/** `kfashion synth <outDir> --images N [--seed S] [--no-images] [--size WxH]`: synthetic K-Fashion data. */
export function registerSynth(program: Command): void {
  // `--images N` and `--no-images` share commander's attribute name `images`, so whichever came
  // last would overwrite the other; the option events keep the count and the switch apart.
  let count: number | undefined;
  let withImages = true;
  program
    .command('synth')
    .description('write synthetic K-Fashion annotations (and JPEGs that show their labels) in the real layout')
    .argument('<outDir>', 'output directory (Training/ and Validation/ are created inside)')
    .option('--images <count>', 'number of annotated images to write')
    .option('--no-images', 'write only the annotation JSON (fast path for import benchmarks)')
    .option('--seed <seed>', 'random seed; the same seed writes the same bytes', parseInteger('--seed'), 1)
    .addOption(new Option('--size <WxH>', 'JPEG size in pixels').argParser(parseSize).default({ width: 320, height: 320 }, '320x320'))
    .option('--validation-fraction <fraction>', 'share of images put under Validation/', parseFraction, 0.1)
    .on('option:images', (value: string) => {
      count = parseInteger('--images')(value);
    })
    .on('option:no-images', () => {
      withImages = false;
    })
    .action(async (outDir: string, options: SynthFlags, command: Command) => {
      if (count === undefined) command.error("error: required option '--images <count>' not specified");
      const { synthesize } = await import('../kfashion/synth');
      const started = Date.now();
      const summary = await synthesize({
        outDir,
        images: count,
        seed: options.seed,
        withImages,
        width: options.size.width,
        height: options.size.height,
        validationFraction: options.validationFraction,
      });
      const seconds = (Date.now() - started) / 1000;
      console.log(
        `wrote ${summary.files} annotations with ${summary.garments} garments and ${summary.imagesWritten} JPEGs ` +
          `(${options.size.width}x${options.size.height}, seed ${options.seed}) to ${outDir} in ${seconds.toFixed(1)} s`,
      );
    });
}

function parseInteger(name: string): (value: string) => number {
  return (value) => {
    if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`${name} must be an integer, got "${value}"`);
    return Number(value);
  };
}

function parseSize(value: string): { width: number; height: number } {
  const match = /^(\d+)x(\d+)$/i.exec(value.trim());
  if (!match) throw new InvalidArgumentError(`--size must look like 320x320, got "${value}"`);
  return { width: Number(match[1]), height: Number(match[2]) };
}

function parseFraction(value: string): number {
  const fraction = Number(value);
  if (!(fraction >= 0 && fraction <= 1)) throw new InvalidArgumentError(`--validation-fraction must be between 0 and 1, got "${value}"`);
  return fraction;
}
