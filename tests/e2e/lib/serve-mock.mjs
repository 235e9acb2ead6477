// Starts the loopback mock API on its own, prints its URL on the first line and runs until
// killed (scripts/test-wasm.sh uses it for the wasm-bindgen tests).
import { startMockApi } from './mock-api.mjs';

const api = await startMockApi();
console.log(api.url);
const stop = async () => { await api.close(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
