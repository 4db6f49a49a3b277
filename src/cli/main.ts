// Entry point of the `tortie` command (bin/tortie.js loads the built copy of this file).
import { run } from './program.js';

process.exitCode = await run(process.argv.slice(2));
