/** The `--help` text. The exit-code table here is part of the command's contract (README repeats it). */
export const HELP = `Usage:
  aitoearn-auth connect <platform> [options]             start an authorization, open it, wait (connect --help)
  aitoearn-auth wait <platform> <sessionId> [options]    wait until the user finishes authorizing
  aitoearn-auth status <platform> <sessionId> [options]  ask once and print the session
  aitoearn-auth sandbox [--port N] [--host H]            run a local stand-in for the API until Ctrl-C

Options (wait, status):
  --site cn|ai          https://aitoearn.cn or https://aitoearn.ai (env AITOEARN_SITE; default ai)
  --base-url URL        another API origin: https, or http to 127.0.0.1/localhost (env AITOEARN_BASE_URL)
  --api-key-file PATH   read the API key from PATH ('-' = stdin); otherwise from env AITOEARN_API_KEY.
                        The key is never accepted as an argument: other users would see it in 'ps'.
  --timeout SECONDS     wait only: give up after this long (default 600; a session's own 5-minute
                        lifetime usually ends the wait first)
Options (all):
  --json                stdout is NDJSON: {"type":"poll",...} per check, then one {"type":"result",...}
  -q, --quiet           no progress; only the result on stdout (errors still go to stderr)
  -h, --help            show this help
  -V, --version         print the version
Options (sandbox):
  --port N              TCP port (default 0: a free one)
  --host H              interface to bind (default 127.0.0.1)

Flags beat environment variables. On a terminal, 'wait' shows one live line; press Enter to check now.
NO_COLOR turns colour off.

Exit codes:
  0    completed (status: the request succeeded)
  1    authorization failed (the session ended with status "failed")
  2    usage or bad input; nothing was sent
  3    session expired or invalid (code 15039, or expiresAt passed)
  4    local timeout (--timeout ran out)
  5    terminal API error (bad key, platform mismatch, validation, other codes)
  6    API unreachable until the deadline
  130  interrupted (Ctrl-C, SIGINT)
  143  terminated (SIGTERM)

Examples:
  AITOEARN_API_KEY=... aitoearn-auth wait douyin 3f1c... --timeout 120
  aitoearn-auth status youtube 3f1c... --api-key-file ~/.aitoearn-key --json
`;
