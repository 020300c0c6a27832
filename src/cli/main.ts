#!/usr/bin/env node
import { buildProgram, runProgram } from './program.js';
import { COMMANDS } from './commands/index.js';

process.exitCode = await runProgram(buildProgram(COMMANDS), process.argv);
