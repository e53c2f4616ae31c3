/**
 * Benchmark — bulk ingest of the orchestrator's stderr lines into data streams, with the kit's
 * ingest pipelines (stderr line → ECS document, rerouted by category) against without them
 * (the same lines stored as they are), measured in one run, interleaved, on the same engine.
 *
 * The engine is OpenSearch 2.19 from test/stack/engines.ts (the Elasticsearch 8.19 that Maven
 * Central provides has no ingest processors; see docs/elasticsearch.md), an ingest node:
 * "with" = _bulk into logs-mcp_ssh-r<round> (its default pipeline runs and reroutes each line to
 * its category data stream), "without" = _bulk with pipeline=_none into a plain data stream.
 *
 *   npx tsx bench/es-ingest.ts [--docs 20000] [--batch 1000] [--rounds 5]
 */
import { forOpenSearch, installOnOpenSearch, ok, scenarios } from '../test/stack/kit.js';
import { startOpenSearch } from '../test/stack/engines.js';
import { markdownTable, numberArg, round, summarize, writeResults } from './lib/kit.js';
import { runBenchmark, type Ledger } from './lib/unmeasured.js';

const DOCS = numberArg('docs', 20_000);
const BATCH = numberArg('batch', 1_000);
const ROUNDS = numberArg('rounds', 5);

function bulkBody(index: string, sources: object[]): string {
  return sources.map((s) => `${JSON.stringify({ create: { _index: index } })}\n${JSON.stringify(s)}\n`).join('');
}

async function main(ledger: Ledger): Promise<void> {
  const lines = scenarios()
    .filter((s) => s.name !== 'malformed')
    .flatMap((s) => s.lines);
  const corpus = Array.from({ length: DOCS }, (_, i) => lines[i % lines.length] as string);
  const os = await startOpenSearch({ heapMb: 1024 });
  try {
    await installOnOpenSearch(os.url, forOpenSearch().kit);
    await ok(os.url, 'PUT', '/_index_template/bench-raw', {
      index_patterns: ['logs-bench.raw-*'],
      data_stream: {},
      priority: 300,
      template: {
        settings: { index: { number_of_shards: 1, number_of_replicas: 0 } },
        mappings: { properties: { message: { type: 'match_only_text' } } },
      },
    });
    const batches: string[][] = [];
    for (let i = 0; i < corpus.length; i += BATCH) batches.push(corpus.slice(i, i + BATCH));

    const withPipelines = async (round: number): Promise<number> => {
      const t0 = performance.now();
      for (const b of batches) {
        const r = await ok(
          os.url,
          'POST',
          '/_bulk',
          bulkBody(
            `logs-mcp_ssh-r${round}`,
            b.map((message) => ({ message })),
          ),
        );
        if (r.json.errors) throw new Error('bulk through the pipelines had errors');
      }
      return performance.now() - t0;
    };
    const withoutPipelines = async (round: number): Promise<number> => {
      const t0 = performance.now();
      for (const b of batches) {
        const now = new Date().toISOString();
        const r = await ok(
          os.url,
          'POST',
          '/_bulk?pipeline=_none',
          bulkBody(
            `logs-bench.raw-r${round}`,
            b.map((message) => ({ '@timestamp': now, message })),
          ),
        );
        if (r.json.errors) throw new Error('raw bulk had errors');
      }
      return performance.now() - t0;
    };

    // One warm-up round each (JIT, mappings, first data streams), then interleaved rounds.
    await withPipelines(0);
    await withoutPipelines(0);
    const rates: Record<'with' | 'without', number[]> = { with: [], without: [] };
    const run = { with: withPipelines, without: withoutPipelines };
    for (let r = 1; r <= ROUNDS; r++) {
      const order: ('with' | 'without')[] = r % 2 === 0 ? ['without', 'with'] : ['with', 'without'];
      for (const which of order) rates[which].push((DOCS / (await run[which](r))) * 1000);
    }
    const w = summarize(rates.with);
    const wo = summarize(rates.without);
    const ratio = w.p50 / wo.p50;
    const table = markdownTable(
      ['', 'docs/s p50', 'docs/s min', 'docs/s max'],
      [
        ['with the mcp_ssh pipelines', round(w.p50, 0), round(w.min, 0), round(w.max, 0)],
        ['without pipelines', round(wo.p50, 0), round(wo.min, 0), round(wo.max, 0)],
      ],
    );
    process.stdout.write(`${table}\n\nwith/without = ${round(ratio, 3)} (_bulk, engine: OpenSearch ${os.version})\n`);
    const file = writeResults('es-ingest', {
      unmeasured: ledger.unmeasured,
      engine: `opensearch ${os.version}`,
      method: 'bulk',
      docs_per_round: DOCS,
      batch: BATCH,
      rounds: ROUNDS,
      distinct_lines: lines.length,
      docs_per_second: { with_pipelines: w, without_pipelines: wo },
      ratio_with_over_without_p50: round(ratio, 3),
    });
    process.stdout.write(`results: ${file}\n`);
  } finally {
    await os.stop();
  }
}

await runBenchmark('es-ingest', main);
