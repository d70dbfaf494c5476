// Model files (.lfm): format 2 carries a SHA-256 checksum; format 1 (no checksum) is still read. Every malformed
// file, tampered or truncated, is an InputError naming the file and the problem, never a raw TypeError/RangeError
// and never a model that loads and scores garbage.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { InputError } from '../../shared/contracts/errors.js';
import { MODEL_FILE_LIMITS } from '../../shared/contracts/limits.js';
import { decodeArtifact, encodeArtifact } from '../../shared/ml/artifact.js';
import { Autoencoder } from '../../shared/ml/autoencoder.js';
import { AutoRec } from '../../shared/ml/autorec.js';
import { initBackend } from '../../shared/ml/backend.js';
import { syntheticRatings } from '../helpers/ratings.js';
import { lowRankMatrix } from '../helpers/synthetic.js';

const FILE = 'model.lfm';
const data = lowRankMatrix(64, 8, 2, 0.01, 3);
let model: Autoencoder;
let bytes: Buffer;

before(async () => {
  await initBackend('cpu', () => undefined);
  model = await Autoencoder.fit(data, { encoder: [6, 3], epochs: 2, batchSize: 16, seed: 1 });
  bytes = model.toArtifact();
});
after(() => model.dispose());

type Header = Record<string, unknown> & { config: Record<string, unknown>; weights?: number[] };

/** A file's header and weights (the file must be valid). */
function partsOf(file: Uint8Array): { header: Header; weights: Float32Array[] } {
  return decodeArtifact<Header>(file, 'fixture');
}

/** A format-1 file (no checksum) of the given parts. */
function lfm1(header: object, weights: Float32Array[]): Buffer {
  const v2 = encodeArtifact(header, weights);
  const v1 = Buffer.from(v2.subarray(0, v2.length - 32));
  v1.write('LFM1', 0, 'ascii');
  return v1;
}

/** A format-2 file with a valid checksum around the given raw header text and weight bytes. */
function rawLfm2(headerText: string, weightBytes = Buffer.alloc(0)): Buffer {
  const json = Buffer.from(headerText, 'utf8');
  const start = Math.ceil((8 + json.length) / 4) * 4;
  const body = Buffer.alloc(start + weightBytes.length);
  body.write('LFM2', 0, 'ascii');
  body.writeUInt32LE(json.length, 4);
  json.copy(body, 8);
  weightBytes.copy(body, start);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

/** Asserts that loading `file` is an InputError whose message has every part (and names the file). */
function refuses(load: () => unknown, ...parts: string[]): InputError {
  let caught: unknown;
  assert.throws(load, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof InputError, `expected an InputError, got ${String(caught)}`);
  for (const part of [FILE, ...parts]) assert.ok(caught.message.includes(part), `message ${JSON.stringify(caught.message)} lacks ${JSON.stringify(part)}`);
  assert.equal(caught.retryable, false);
  return caught;
}

const load = (file: Uint8Array) => () => Autoencoder.fromArtifact(file, FILE).dispose();

/** `header` changed by `edit`, re-encoded as a valid format-2 file (the checksum matches: only the structure is wrong). */
function edited(edit: (header: Header, weights: Float32Array[]) => void): Buffer {
  const { header, weights } = partsOf(bytes);
  edit(header, weights);
  return encodeArtifact(header, weights);
}

describe('autoencoder model files', () => {
  test('are written as format 2: "LFM2", and a SHA-256 of everything before it in the last 32 bytes', () => {
    assert.equal(bytes.subarray(0, 4).toString('ascii'), 'LFM2');
    const body = bytes.subarray(0, bytes.length - 32);
    assert.ok(createHash('sha256').update(body).digest().equals(bytes.subarray(-32)));
    const loaded = Autoencoder.fromArtifact(bytes, FILE);
    try {
      assert.deepEqual(loaded.score(data).errors, model.score(data).errors);
    } finally {
      loaded.dispose();
    }
  });

  test('one flipped byte in the weights, or in the header, is a checksum mismatch', () => {
    const { header } = partsOf(bytes);
    const inWeights = Buffer.from(bytes);
    inWeights[bytes.length - 32 - 5] ^= 0x01;
    refuses(load(inWeights), 'model file is corrupt or was modified (checksum mismatch)');
    // A header edit that keeps valid JSON: a digit of the creation time.
    const at = bytes.indexOf(Buffer.from(String(header.createdAt)));
    const inHeader = Buffer.from(bytes);
    inHeader[at + 3] = inHeader[at + 3] === 0x30 ? 0x31 : 0x30;
    refuses(load(inHeader), 'checksum mismatch');
  });

  test('a truncated file is refused at every length', () => {
    for (let n = 0; n < bytes.length; n++) refuses(load(bytes.subarray(0, n)));
    refuses(load(bytes.subarray(0, 6)), 'not a latentflow model file');
    refuses(load(bytes.subarray(0, 20)), 'truncated inside its header');
    refuses(load(bytes.subarray(0, bytes.length - 40)), 'truncated inside its weights');
    refuses(load(Buffer.concat([bytes, Buffer.alloc(4)])), 'unexpected bytes after the weights');
  });

  test('a header longer than the limit is refused before it is read', () => {
    const huge = Buffer.from(bytes);
    huge.writeUInt32LE(0xfffffff0, 4);
    refuses(load(huge), `header of ${0xfffffff0} bytes, more than the limit of ${MODEL_FILE_LIMITS.headerBytes}`);
    const justOver = Buffer.from(bytes);
    justOver.writeUInt32LE(MODEL_FILE_LIMITS.headerBytes + 1, 4);
    refuses(load(justOver), 'more than the limit');
  });

  test('a header that is not JSON, or lacks the weight lengths, is refused', () => {
    refuses(load(rawLfm2('{"kind": "autoencoder", oops')), 'header is not valid JSON');
    refuses(load(rawLfm2('[1, 2]')), 'header lacks the list of weight array lengths');
    refuses(load(rawLfm2('{"kind":"autoencoder","format":1,"weights":[-1]}')), 'header lacks the list of weight array lengths');
    refuses(load(rawLfm2('{"kind":"autoencoder","format":1,"weights":[2]}', Buffer.alloc(8))), 'header field "config"');
  });

  test('a header claiming another input width, layer or scaler than its weights is refused (checksum valid)', () => {
    refuses(load(edited((h) => { h.config.inputWidth = 9; })), '8 features for an input width of 9');
    refuses(load(edited((h) => { (h.features as string[]).pop(); })), '7 features for an input width of 8');
    refuses(load(edited((h) => { (h.scaler as { offset: number[] }).offset.push(0); })), '9 scaler offsets for an input width of 8');
    refuses(load(edited((h) => { (h.scaler as { divisor: number[] }).divisor[2] = 0; })), 'header field "scaler.divisor.2"', 'must not be 0');
    refuses(load(edited((h) => { (h.encoder as { units: number }[])[0].units = 5; })), 'encoder layer 1 is 8×5, the widths in its config call for 8×6');
    refuses(load(edited((h) => { h.config.codeSize = 2; })), "last encoder width 3 is not its code size 2");
    refuses(load(edited((h) => { (h.decoder as unknown[]).pop(); })), 'decoder layers, the widths in its config call for');
    refuses(load(edited((h) => { (h.encoder as { activation: string }[])[0].activation = 'swish'; })), 'header field "encoder.0.activation"');
    refuses(load(edited((_, w) => { w.pop(); })), 'weight arrays, its header describes');
    refuses(load(edited((_, w) => { w[0] = w[0].subarray(1); })), 'encoder layer 1 kernel has 47 values, its shape 8×6 needs 48');
    refuses(load(edited((h) => { h.threshold = { method: { method: 'quantile', q: 0.99 }, value: null, rows: 6 }; })), 'header field "threshold.value"');
    refuses(load(edited((h) => { h.config.loss = 'hinge'; })), 'header field "config.loss"');
  });

  test('a file without a threshold loads with none', () => {
    const loaded = Autoencoder.fromArtifact(edited((h) => { delete h.threshold; }), FILE);
    try {
      assert.equal(loaded.threshold, null);
    } finally {
      loaded.dispose();
    }
  });

  test('format 1 files (no checksum) still load, with their structure checked', () => {
    const { header, weights } = partsOf(bytes);
    const v1 = lfm1(header, weights);
    assert.equal(v1.subarray(0, 4).toString('ascii'), 'LFM1');
    const loaded = Autoencoder.fromArtifact(v1, FILE);
    try {
      assert.deepEqual(loaded.encode(data), model.encode(data));
      assert.deepEqual(loaded.threshold, model.threshold);
    } finally {
      loaded.dispose();
    }
    refuses(load(lfm1({ ...header, features: ['a'] }, weights)), '1 features for an input width of 8');
    refuses(load(v1.subarray(0, v1.length - 1)), 'truncated inside its weights');
  });

  test('no single-byte corruption of a format 1 header gives anything but a model or an InputError', () => {
    const { header, weights } = partsOf(bytes);
    const v1 = lfm1(header, weights);
    const headerEnd = 8 + v1.readUInt32LE(4);
    for (let at = 4; at < headerEnd; at++) {
      for (const value of [0x00, 0x22, 0x2d, 0x31, 0x5d, 0x7d, 0xff]) {
        const bad = Buffer.from(v1);
        bad[at] = value;
        try {
          Autoencoder.fromArtifact(bad, FILE).dispose();
        } catch (err) {
          assert.ok(err instanceof InputError, `byte ${at} = ${value}: ${String(err)}`);
        }
      }
    }
  });

  test('an AutoRec file is not an autoencoder', () => {
    refuses(load(encodeArtifact({ kind: 'autorec', version: 1 }, [])), 'unsupported model artifact (kind autorec');
  });
});

describe('detector parts of model files', () => {
  let forestBytes: Buffer;
  before(async () => {
    const m = await Autoencoder.fit(data, { encoder: [6, 3], epochs: 2, batchSize: 16, seed: 1, detector: 'ensemble' });
    forestBytes = m.toArtifact();
    m.dispose();
  });
  const editForest = (edit: (header: Header, weights: Float32Array[]) => void) => {
    const { header, weights } = partsOf(forestBytes);
    edit(header, weights);
    return encodeArtifact(header, weights);
  };
  // Weights: 2 per layer of the network (4 layers here), then medians, reference scores, forest features, values, children, roots.
  const NETWORK = 8;

  test('a forest child that points back (a loop) or past the end is refused, not followed', () => {
    refuses(load(editForest((_, w) => { const left = w[NETWORK + 4]; left[left.findIndex((l) => l > 0)] = 0; })), 'points outside the forest');
    refuses(load(editForest((_, w) => { const left = w[NETWORK + 4]; left[left.findIndex((l) => l > 0)] = 1e9; })), 'points outside the forest');
    refuses(load(editForest((_, w) => { w[NETWORK + 2][0] = 99; })), 'points outside the forest');
  });

  test('reference scores out of order, a detector without its parts, too many reference scores', () => {
    refuses(load(editForest((_, w) => { const r = w[NETWORK + 1]; r[0] = r[r.length - 1] + 1; })), 'not finite and ascending');
    refuses(load(editForest((h) => { (h.detector as Record<string, unknown>).kind = 'vae'; })), 'stored without the parts it needs');
    refuses(load(editForest((h, w) => { w[NETWORK + 1] = new Float32Array(10_001); })), '10001 detector reference scores, at most 10000');
  });

  test('a model saved before detectors existed loads: its score is its reconstruction error, without p-values', () => {
    const old = editForest((h, w) => {
      delete h.detector;
      delete h.config.detector;
      w.splice(NETWORK);
    });
    const loaded = Autoencoder.fromArtifact(old, FILE);
    try {
      const { errors, scores } = loaded.score(data);
      assert.deepEqual(scores, errors);
      assert.equal(loaded.pValues(scores), undefined);
      assert.equal(loaded.config.detector, 'ae');
      assert.deepEqual(loaded.attribute(data, 3)[0], []);
    } finally {
      loaded.dispose();
    }
  });
});

describe('AutoRec model files', () => {
  let rec: AutoRec;
  let recBytes: Buffer;
  const loadRec = (file: Uint8Array) => () => AutoRec.load(file, FILE).dispose();

  before(async () => {
    rec = await AutoRec.fit(syntheticRatings({ users: 30, items: 20, observed: 0.3 }), { hidden: 4, epochs: 1, batchSize: 8, ranking: 'rating' });
    recBytes = rec.save();
  });
  after(() => rec.dispose());

  test('round trip with a checksum; a flipped byte is a checksum mismatch', () => {
    assert.equal(recBytes.subarray(0, 4).toString('ascii'), 'LFM2');
    const loaded = AutoRec.load(recBytes, FILE);
    try {
      assert.deepEqual(loaded.recommend(rec.users[0], 3), rec.recommend(rec.users[0], 3));
    } finally {
      loaded.dispose();
    }
    const bad = Buffer.from(recBytes);
    bad[bad.length - 40] ^= 0x80;
    refuses(loadRec(bad), 'checksum mismatch');
  });

  test('format 1 still loads; weights or training entries that do not fit the header are refused', () => {
    const { header, weights } = decodeArtifact<Header>(recBytes, 'fixture');
    const loaded = AutoRec.load(lfm1(header, weights), FILE);
    loaded.dispose();
    const users = (header.users as string[]).length;
    refuses(loadRec(lfm1(header, [weights[0].subarray(1), ...weights.slice(1)])), `V has ${weights[0].length - 1} values, its shape ${users}×4 needs ${weights[0].length}`);
    refuses(loadRec(lfm1(header, weights.slice(0, 6))), '6 weight arrays, its header describes 7');
    const entries = weights.map((w) => w.slice());
    entries[4][2] = users;
    refuses(loadRec(lfm1(header, entries)), `training entry 2 (user ${users}`, 'not a known user and item');
    entries[4][2] = 0.5;
    refuses(loadRec(lfm1(header, entries)), 'training entry 2 (user 0.5');
    refuses(loadRec(lfm1({ ...header, config: { ...header.config, hidden: 0 } }, weights)), 'header field "config"', 'hidden');
    refuses(loadRec(lfm1({ ...header, min: 'low' }, weights)), 'header field "min"');
  });

  test('a presence network of its own size round trips; one saved before it had its own size loads at the rating network\'s', async () => {
    const ratings = syntheticRatings({ users: 30, items: 20, observed: 0.3 });
    const sized = await AutoRec.fit(ratings, { hidden: 4, presenceHidden: 6, epochs: 1, batchSize: 8 });
    try {
      const loaded = AutoRec.load(sized.save(), FILE);
      assert.deepEqual(loaded.recommend(sized.users[0], 3), sized.recommend(sized.users[0], 3));
      loaded.dispose();
    } finally {
      sized.dispose();
    }
    const older = await AutoRec.fit(ratings, { hidden: 4, lambda: 7, presenceHidden: 4, presenceLambda: 7, epochs: 1, batchSize: 8 });
    try {
      const { header, weights } = decodeArtifact<Header>(older.save(), 'fixture');
      const config = { ...header.config };
      delete config.presenceHidden;
      delete config.presenceLambda;
      const loaded = AutoRec.load(encodeArtifact({ ...header, config }, weights), FILE);
      assert.deepEqual([loaded.config.presenceHidden, loaded.config.presenceLambda], [4, 7]);
      assert.deepEqual(loaded.recommend(older.users[0], 3), older.recommend(older.users[0], 3));
      loaded.dispose();
    } finally {
      older.dispose();
    }
  });
});
