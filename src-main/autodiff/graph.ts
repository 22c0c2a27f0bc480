/**
 * A small graph builder for ONNX with reverse-mode differentiation.
 *
 * Values carry a dtype and a shape whose dims are numbers (static) or strings (symbolic,
 * e.g. 'N'). Parameters are graph INPUTS (onnxruntime ignores feeds for initializers);
 * constants are initializers. `gradients(loss, wrt)` appends the vector-Jacobian products
 * of every op on the path (rules in ops.ts), so one emitted model computes the loss and
 * all gradients in a single session run. Pure: no node or DOM imports.
 */
import { GraphBase } from './graph-core';
import { OPS } from './ops';

export * from './graph-core';

/** The graph builder with the op table of ops.ts (see graph-core.ts). */
export class Graph extends GraphBase {
  constructor(floatType: 'float32' | 'float64' = 'float32', name = 'bgad') {
    super(OPS, floatType, name);
  }
}
