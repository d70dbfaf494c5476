#!/usr/bin/env node
// The installed `latentflow` command: the compiled CLI (built by `npm ci` through the prepare script).
import '../dist/cli/main.js';
