/** Evaluation metrics (pure). */
export { auroc, rocCurve, pixelAuroc, type RocCurve } from './roc';
export { aupro, labelComponents } from './aupro';
export { f1AtThreshold, thresholdAtFalseRejectRate, type F1Result } from './thresholds';
