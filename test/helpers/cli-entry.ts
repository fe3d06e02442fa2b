// The CLI's process entry run from source (node --import tsx), for tests that need a real process: signals, pipes, EPIPE.
import { runProcess } from '../../src/cli/main.js';

await runProcess();
