// Start-up of a cached `skyporten aws credential-process` (the aws CLI pays it on every command) against bare
// `node -e 0`: 10 interleaved rounds, each the fastest of 3 runs per side (an interrupted run is only ever
// slower), judged on the median of the per-round ratios; and the CLI's peak RSS.
import { atMost, type BenchResult } from '../result.ts';
import { runNode, startCliWorld } from './cli-cache.ts';

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return (sorted[Math.floor((sorted.length - 1) / 2)]! + sorted[Math.ceil((sorted.length - 1) / 2)]!) / 2;
};

export async function cliStartup(): Promise<BenchResult[]> {
  const world = await startCliWorld();
  try {
    const warm = await runNode(world.argv, world.env);
    if (warm.code !== 0) throw new Error('the first credential-process run failed');
    const cli: number[] = [];
    const bare: number[] = [];
    const ratios: number[] = [];
    const fastest = async (argv: string[]) => Math.min(...(await sequential(argv, world.env, 3)));
    for (let round = 0; round < 10; round += 1) {
      const node = await fastest(['-e', '0']);
      const command = await fastest(world.argv);
      bare.push(node);
      cli.push(command);
      ratios.push(command / node);
    }
    const rssKiB = await peakRss(world.argv, world.env);
    const ratio = Math.round(median(ratios) * 100) / 100;
    return [
      {
        id: 'cli.startup.cachedCredentialProcessRatio',
        label: 'CLI: cached credential_process wall time / node -e 0 (median of 10 rounds)',
        value: ratio,
        unit: 'x',
        ...atMost(ratio, 2),
        details: {
          cliMedianMs: Math.round(median(cli) * 10) / 10,
          nodeMedianMs: Math.round(median(bare) * 10) / 10,
          ratioRange: [Math.min(...ratios), Math.max(...ratios)].map((value) => Math.round(value * 100) / 100),
        },
      },
      { id: 'cli.startup.cachedCredentialProcessRss', label: 'CLI: cached credential_process peak RSS', value: rssKiB * 1024, unit: 'bytes' },
    ];
  } finally {
    await world.close();
  }
}

/** `count` runs one after another; their wall times in ms. */
async function sequential(argv: string[], env: Record<string, string>, count: number): Promise<number[]> {
  const times: number[] = [];
  for (let run = 0; run < count; run += 1) times.push((await runNode(argv, env)).ms);
  return times;
}

/** The peak RSS in KiB of one run, reported by the process itself at exit through a preloaded hook. */
async function peakRss(argv: string[], env: Record<string, string>): Promise<number> {
  const hook = 'data:text/javascript,process.on("exit",()=>{process.stdout.write("\\nRSS "+process.resourceUsage().maxRSS+"\\n")})';
  const run = await runNode(['--import', hook, ...argv], env);
  const match = /RSS (\d+)/.exec(run.stdout);
  return match === null ? 0 : Number(match[1]);
}
