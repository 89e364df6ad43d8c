#!/usr/bin/env node
// A file of its own rather than dist/main.js, so that `npm ci` links the command before the first build.
import '../dist/main.js';
