#!/usr/bin/env node
import { buildProgram, runProgram } from './program.js';
import { COMMANDS } from './commands/index.js';
import { plannedCommands } from './commands/planned.js';

const program = buildProgram(COMMANDS);
plannedCommands(program, new Set(program.commands.map((c) => c.name())));
process.exitCode = await runProgram(program, process.argv);
