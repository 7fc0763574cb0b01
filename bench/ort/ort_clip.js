// ONNX Runtime peer for mmserve's encoder benchmark: times the CLIP towers that
// bench/export_onnx.py wrote, with onnxruntime-node's CPU execution provider.
//
//   node bench/ort/ort_clip.js --models bench/out/onnx --case image-224 --precision fp32 \
//        --batches 1,8,32 --threads 2 --min-time 3
//   node bench/ort/ort_clip.js --models bench/out/onnx --check     (cosines to PyTorch's output)
//
// One JSON line per batch size, in the schema of `mmserve bench` and bench/torch_clip.py:
// case, engine, precision, batch, median_ms, best_ms, items_per_s, iters (+ encoder, threads, ort).
// Cases: image-224 (random normal pixels), text-77 (random ids, end-of-text last),
// text-short ("a photo of a dog", 7 tokens). --precision int8 runs the *-int8.onnx graphs.
'use strict';
const fs = require('fs');
const path = require('path');

let ort;
try {
  ort = require('onnxruntime-node');
} catch (e) {
  console.error('ort_clip: onnxruntime-node is not installed: (cd bench/ort && ONNXRUNTIME_NODE_INSTALL=skip npm ci)');
  process.exit(2);
}
const ORT_VERSION = require('onnxruntime-node/package.json').version;

const BOS = 49406;
const EOS = 49407;
const SHORT_IDS = [BOS, 320, 1125, 539, 320, 1929, EOS];  // "a photo of a dog"

function parseArgs(argv) {
  const opts = {
    models: 'bench/out/onnx', case: 'image-224', precision: 'fp32', batches: [1, 8, 32], threads: 2,
    minTime: 3, minIters: 5, warmup: 2, check: false, minCosine: 0.9999, minCosineInt8: 0.99,
  };
  const numeric = { threads: 'threads', 'min-time': 'minTime', 'min-iters': 'minIters', warmup: 'warmup',
    'min-cosine': 'minCosine', 'min-cosine-int8': 'minCosineInt8' };
  for (let i = 2; i < argv.length; i++) {
    const flag = argv[i].replace(/^--/, '');
    if (flag === 'check') { opts.check = true; continue; }
    if (i + 1 >= argv.length) throw new Error(`--${flag} needs a value`);
    const v = argv[++i];
    if (flag === 'models') opts.models = v;
    else if (flag === 'case') opts.case = v;
    else if (flag === 'precision') opts.precision = v;
    else if (flag === 'batches') opts.batches = v.split(/[ ,]+/).filter(Boolean).map(Number);
    else if (flag in numeric) opts[numeric[flag]] = Number(v);
    else throw new Error(`unknown option --${flag}`);
  }
  if (!['fp32', 'int8'].includes(opts.precision)) throw new Error('--precision must be fp32 or int8');
  if (!/^(image-\d+|text-77|text-short)$/.test(opts.case)) throw new Error('--case must be image-224, text-77 or text-short');
  if (opts.batches.some((b) => !(b >= 1))) throw new Error('--batches must be positive integers');
  return opts;
}

function modelPath(opts, tower, precision) {
  const file = path.join(opts.models, `${tower}${precision === 'int8' ? '-int8' : ''}.onnx`);
  if (!fs.existsSync(file)) {
    throw new Error(`${file} is missing: /usr/bin/python3 bench/export_onnx.py --model bench/out/vit-b-32 --out ${opts.models}`);
  }
  return file;
}

async function openSession(opts, tower, precision) {
  // The settings a user of the CPU provider would pick for a fixed thread budget: THREADS
  // intra-op threads (the calling thread is one of them), no inter-op parallelism, every
  // graph optimisation (layer-norm, GELU and attention fusions, int8 MatMul fusion).
  return ort.InferenceSession.create(modelPath(opts, tower, precision), {
    executionProviders: ['cpu'],
    intraOpNumThreads: opts.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
}

// Deterministic inputs: a small xorshift generator, normal values by Box-Muller.
function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
}

function makeFeeds(c, batch) {
  const next = rng(1234 + batch);
  if (c.startsWith('image-')) {
    const size = Number(c.slice(6));
    const data = new Float32Array(batch * 3 * size * size);
    for (let i = 0; i < data.length; i++) {
      data[i] = Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
    }
    return { pixel_values: new ort.Tensor('float32', data, [batch, 3, size, size]) };
  }
  const len = c === 'text-short' ? SHORT_IDS.length : 77;
  const ids = new BigInt64Array(batch * len);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < len; t++) {
      const id = c === 'text-short' ? SHORT_IDS[t] : (t === len - 1 ? EOS : 1 + Math.floor(next() * (BOS - 1)));
      ids[b * len + t] = BigInt(id);
    }
  }
  return { input_ids: new ort.Tensor('int64', ids, [batch, len]) };
}

async function bench(opts) {
  const tower = opts.case.startsWith('image-') ? 'vision' : 'text';
  const session = await openSession(opts, tower, opts.precision);
  for (const batch of opts.batches) {
    const feeds = makeFeeds(opts.case, batch);
    for (let i = 0; i < opts.warmup; i++) await session.run(feeds);
    const times = [];
    const start = process.hrtime.bigint();
    const elapsed = () => Number(process.hrtime.bigint() - start) / 1e9;
    while (times.length < opts.minIters || elapsed() < opts.minTime) {
      const t0 = process.hrtime.bigint();
      await session.run(feeds);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)];  // the upper median, as mmserve bench takes it
    console.log(JSON.stringify({
      case: opts.case, engine: 'onnxruntime', precision: opts.precision, batch, iters: times.length,
      median_ms: +median.toFixed(3), best_ms: +times[0].toFixed(3), items_per_s: +(batch / median * 1e3).toFixed(2),
      encoder: tower === 'vision' ? 'image' : 'text', threads: opts.threads, ort: ORT_VERSION,
    }));
  }
}

function cosine(a, b) {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
  return dot / Math.sqrt(na * nb);
}

// Runs reference.json's image and texts (from export_onnx.py) through each graph and prints
// the cosine of ONNX Runtime's embedding to PyTorch fp32's. Exit 1 below the thresholds.
async function check(opts) {
  const refPath = path.join(opts.models, 'reference.json');
  if (!fs.existsSync(refPath)) throw new Error(`${refPath} is missing: run bench/export_onnx.py`);
  const ref = JSON.parse(fs.readFileSync(refPath, 'utf8'));
  let ok = true;
  for (const precision of ['fp32', 'int8']) {
    for (const [tower, key, feed] of [['vision', 'image', 'pixel_values'], ['text', 'text-77', 'input_ids'],
      ['text', 'text-short', 'input_ids']]) {
      const session = await openSession(opts, tower, precision);
      const r = ref[key];
      const tensor = key === 'image'
        ? new ort.Tensor('float32', Float32Array.from(r.input), r.shape)
        : new ort.Tensor('int64', BigInt64Array.from(r.input.map(BigInt)), r.shape);
      const out = await session.run({ [feed]: tensor });
      const got = out[session.outputNames[0]].data;
      const cos = cosine(got, r.embeds);
      let maxDiff = 0;
      for (let i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - r.embeds[i]));
      const min = precision === 'int8' ? opts.minCosineInt8 : opts.minCosine;
      const pass = cos >= min;
      ok = ok && pass;
      console.log(JSON.stringify({ check: `${key} ${precision} vs PyTorch fp32`, cosine: +cos.toPrecision(8),
        max_abs_diff: +maxDiff.toExponential(2), min_cosine: min, pass, ort: ORT_VERSION }));
    }
  }
  if (!ok) process.exitCode = 1;
}

(async () => {
  try {
    const opts = parseArgs(process.argv);
    await (opts.check ? check(opts) : bench(opts));
  } catch (e) {
    console.error(`ort_clip: ${e.message || e}`);
    process.exit(2);
  }
})();
