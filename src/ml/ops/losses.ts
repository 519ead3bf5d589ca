/**
 * Detection losses as torch.nn.functional computes them, built from differentiable tfjs ops.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * F.smooth_l1_loss(input, target, beta, reduction='sum'): |d| < beta → 0.5·d²/beta, else |d| − 0.5·beta
 * (beta = 0 is the L1 loss). torchvision uses beta = 1/9 for both the RPN and the box head.
 */
export function smoothL1Loss(input: tf.Tensor, target: tf.Tensor, beta: number): tf.Scalar {
  return tf.tidy(() => {
    const n = tf.abs(tf.sub(input, target));
    if (beta <= 0) return tf.sum(n);
    // With m = min(n, beta): 0.5·m²/beta + (n − m) is the same piecewise function, written without a
    // comparison on the gradient path (tfjs has no gradient for Less, which a where() condition would need).
    const m = tf.minimum(n, beta);
    return tf.sum(tf.add(tf.div(tf.mul(0.5, tf.square(m)), beta), tf.sub(n, m)));
  });
}

/**
 * Binary cross-entropy on logits, elementwise max(x, 0) − x·y + log(1 + e^−|x|) (the stable form torch uses).
 * Without weights: the mean over all elements (F.binary_cross_entropy_with_logits). With weights (e.g. 0 for
 * an attribute value a garment has no label for): Σ w·loss / Σ w, i.e. the mean over the weighted elements;
 * 0 when every weight is 0.
 */
export function binaryCrossEntropyWithLogits(logits: tf.Tensor, targets: tf.Tensor, weights?: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const elementwise = tf.add(tf.sub(tf.relu(logits), tf.mul(logits, targets)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
    if (!weights) return tf.mean(elementwise);
    const total = tf.sum(weights);
    return tf.div(tf.sum(tf.mul(elementwise, weights)), tf.maximum(total, 1e-12)) as tf.Scalar;
  });
}

/**
 * Softmax cross-entropy F.cross_entropy(logits, labels) averaged over the rows where `mask` is truthy (all rows
 * when absent). Labels of masked-out rows are not read (they may be −1 for "unlabelled"). 0 when no row counts.
 */
export function softmaxCrossEntropy(logits: tf.Tensor2D, labels: Int32Array, mask?: ArrayLike<number | boolean>): tf.Scalar {
  const [rows, classes] = logits.shape;
  if (labels.length !== rows) throw new Error(`softmaxCrossEntropy: ${labels.length} labels for ${rows} rows of logits`);
  if (mask && mask.length !== rows) throw new Error(`softmaxCrossEntropy: mask has ${mask.length} entries for ${rows} rows`);
  const rowWeights = new Float32Array(rows);
  const safeLabels = new Int32Array(rows);
  let counted = 0;
  for (let i = 0; i < rows; i++) {
    if (mask && !mask[i]) continue;
    if (labels[i] < 0 || labels[i] >= classes)
      throw new Error(`softmaxCrossEntropy: label ${labels[i]} of row ${i} is outside [0, ${classes})`);
    rowWeights[i] = 1;
    safeLabels[i] = labels[i];
    counted++;
  }
  return tf.tidy(() => {
    if (counted === 0) return tf.mul(tf.sum(logits), 0) as tf.Scalar; // keeps the graph connected, value 0
    const logProbabilities = tf.logSoftmax(logits);
    const picked = tf.sum(tf.mul(logProbabilities, tf.oneHot(tf.tensor1d(safeLabels, 'int32'), classes)), 1);
    return tf.div(tf.neg(tf.sum(tf.mul(picked, tf.tensor1d(rowWeights)))), counted) as tf.Scalar;
  });
}
