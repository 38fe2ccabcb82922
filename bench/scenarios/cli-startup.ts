// Start-up of a cached `skyporten aws credential-process` (the aws CLI pays it on every command) against bare
// `node -e 0`: the median of 10 interleaved runs each, and the CLI's peak RSS.
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
    for (let round = 0; round < 10; round += 1) {
      bare.push((await runNode(['-e', '0'], world.env)).ms);
      cli.push((await runNode(world.argv, world.env)).ms);
    }
    const rssKiB = await peakRss(world.argv, world.env);
    const ratio = Math.round((median(cli) / median(bare)) * 100) / 100;
    return [
      {
        id: 'cli.startup.cachedCredentialProcessRatio',
        label: 'CLI: cached credential_process wall time / node -e 0 (median of 10)',
        value: ratio,
        unit: 'x',
        ...atMost(ratio, 2),
        details: { cliMedianMs: Math.round(median(cli) * 10) / 10, nodeMedianMs: Math.round(median(bare) * 10) / 10 },
      },
      { id: 'cli.startup.cachedCredentialProcessRss', label: 'CLI: cached credential_process peak RSS', value: rssKiB * 1024, unit: 'bytes' },
    ];
  } finally {
    await world.close();
  }
}

/** The peak RSS in KiB of one run, reported by the process itself at exit through a preloaded hook. */
async function peakRss(argv: string[], env: Record<string, string>): Promise<number> {
  const hook = 'data:text/javascript,process.on("exit",()=>{process.stdout.write("\\nRSS "+process.resourceUsage().maxRSS+"\\n")})';
  const run = await runNode(['--import', hook, ...argv], env);
  const match = /RSS (\d+)/.exec(run.stdout);
  return match === null ? 0 : Number(match[1]);
}
