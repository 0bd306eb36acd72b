#!/usr/bin/env node
// The `chapar` command. Chapar ships as TypeScript and runs it through tsx's loader,
// so there is no build step between `npm install` and `npm start`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2));
