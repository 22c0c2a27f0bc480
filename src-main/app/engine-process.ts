/**
 * Entry of the engine utility process (dist/app/engine-process.cjs), started by the main
 * process with utilityProcess.fork. All ONNX Runtime sessions live here, never in main.
 * Messages follow src-main/common/engine-protocol.ts over process.parentPort.
 */
import type {} from 'electron';
import { runEnginePlaceholder } from './engine-placeholder';

const port = process.parentPort;
runEnginePlaceholder(port, (code) => process.exit(code), process.pid);
