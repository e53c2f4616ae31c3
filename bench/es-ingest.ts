/**
 * Benchmark — bulk ingest of the orchestrator's stderr lines into data streams, with the kit's
 * ingest pipelines (stderr line → ECS document, rerouted by category) against without them
 * (the same lines stored as they are), measured in one run, interleaved, on the same engine.
 *
 * The engine is OpenSearch 2.19 from test/stack/engines.ts (the Elasticsearch 8.19 that Maven
 * Central provides has no ingest processors; see docs/elasticsearch.md). Two methods:
 *  - bulk:     the node has the ingest role; "with" = _bulk into logs-mcp_ssh-default (default
 *              pipeline runs), "without" = _bulk with pipeline=_none into a plain data stream.
 *  - simulate: the node has no ingest role; "with" = _simulate through the pipelines, then
 *              _bulk of the resulting documents; "without" = _bulk of the raw lines. _simulate
 *              also serialises every document back, so this overstates the pipelines' cost.
 * The method used is recorded in the results.
 *
 *   npx tsx bench/es-ingest.ts [--docs 20000] [--batch 1000] [--rounds 5]
 */
import { forOpenSearch, installOnOpenSearch, ok, scenarios, simulate } from '../test/stack/kit.js';
import { startOpenSearch } from '../test/stack/engines.js';
import { markdownTable, numberArg, round, summarize, writeResults } from './lib/kit.js';

const DOCS = numberArg('docs', 20_000);
const BATCH = numberArg('batch', 1_000);
const ROUNDS = numberArg('rounds', 5);

function bulkBody(index: string, sources: object[]): string {
  return sources.map((s) => `${JSON.stringify({ create: { _index: index } })}\n${JSON.stringify(s)}\n`).join('');
}

async function main(): Promise<void> {
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
    const nodes = await ok(os.url, 'GET', '/_nodes?filter_path=nodes.*.roles');
    const ingestNode = Object.values(nodes.json.nodes as Record<string, { roles: string[] }>).some((n) =>
      n.roles.includes('ingest'),
    );
    const method = ingestNode ? 'bulk' : 'simulate';
    const batches: string[][] = [];
    for (let i = 0; i < corpus.length; i += BATCH) batches.push(corpus.slice(i, i + BATCH));

    const withPipelines = async (round: number): Promise<number> => {
      const t0 = performance.now();
      for (const b of batches) {
        if (ingestNode) {
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
        } else {
          const sim = await simulate(
            os.url,
            b.map((message) => ({ message })),
            `logs-mcp_ssh-r${round}`,
          );
          const body = sim
            .map((x) => `${JSON.stringify({ create: { _index: x.doc?._index } })}\n${JSON.stringify(x.doc?._source)}\n`)
            .join('');
          const r = await ok(os.url, 'POST', '/_bulk?pipeline=_none', body);
          if (r.json.errors) throw new Error('bulk of the pipeline output had errors');
        }
      }
      return performance.now() - t0;
    };
    // simulate method only: the same _simulate + _bulk round trip through an empty pipeline, so
    // the cost of _simulate itself can be told apart from the cost of the kit's processors.
    await ok(os.url, 'PUT', '/_ingest/pipeline/bench-noop', { processors: [] });
    const noopPipeline = async (round: number): Promise<number> => {
      const t0 = performance.now();
      for (const b of batches) {
        const now = new Date().toISOString();
        const r = await ok(os.url, 'POST', '/_ingest/pipeline/bench-noop/_simulate', {
          docs: b.map((message) => ({ _index: `logs-bench.raw-n${round}`, _source: { '@timestamp': now, message } })),
        });
        const docs = (r.json.docs as { doc: { _index: string; _source: object } }[]).map((d) => d.doc);
        const out = await ok(
          os.url,
          'POST',
          '/_bulk?pipeline=_none',
          docs
            .map((d) => `${JSON.stringify({ create: { _index: d._index } })}\n${JSON.stringify(d._source)}\n`)
            .join(''),
        );
        if (out.json.errors) throw new Error('noop bulk had errors');
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
    if (!ingestNode) await noopPipeline(0);
    const rates: Record<'with' | 'without' | 'noop', number[]> = { with: [], without: [], noop: [] };
    const run = { with: withPipelines, without: withoutPipelines, noop: noopPipeline };
    const contestants: ('with' | 'without' | 'noop')[] = ingestNode ? ['with', 'without'] : ['with', 'without', 'noop'];
    for (let r = 1; r <= ROUNDS; r++) {
      const order = r % 2 === 0 ? [...contestants].reverse() : contestants;
      for (const which of order) rates[which].push((DOCS / (await run[which](r))) * 1000);
    }
    const w = summarize(rates.with);
    const wo = summarize(rates.without);
    const noop = ingestNode ? undefined : summarize(rates.noop);
    const ratio = w.p50 / wo.p50;
    const table = markdownTable(
      ['', 'docs/s p50', 'docs/s min', 'docs/s max'],
      [
        ['with the mcp_ssh pipelines', round(w.p50, 0), round(w.min, 0), round(w.max, 0)],
        ['without pipelines', round(wo.p50, 0), round(wo.min, 0), round(wo.max, 0)],
        ...(noop
          ? [['_simulate round trip, empty pipeline', round(noop.p50, 0), round(noop.min, 0), round(noop.max, 0)]]
          : []),
      ],
    );
    process.stdout.write(
      `${table}\n\nwith/without = ${round(ratio, 3)}` +
        (noop ? `; with/(the same _simulate round trip, empty pipeline) = ${round(w.p50 / noop.p50, 3)}` : '') +
        ` (method: ${method}, engine: OpenSearch ${os.version})\n`,
    );
    const file = writeResults('es-ingest', {
      engine: `opensearch ${os.version}`,
      method,
      docs_per_round: DOCS,
      batch: BATCH,
      rounds: ROUNDS,
      distinct_lines: lines.length,
      docs_per_second: { with_pipelines: w, without_pipelines: wo, ...(noop ? { simulate_empty_pipeline: noop } : {}) },
      ratio_with_over_without_p50: round(ratio, 3),
      ...(noop ? { ratio_with_over_simulate_empty_pipeline_p50: round(w.p50 / noop.p50, 3) } : {}),
    });
    process.stdout.write(`results: ${file}\n`);
  } finally {
    await os.stop();
  }
}

await main();
