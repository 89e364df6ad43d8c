import { PLATFORMS } from '../platforms.js';
import { COMMANDS, type CommandName, OPTIONS, type OptionName, optionsOf } from './args.js';
import { EXIT, EXIT_MEANINGS, type ExitName } from './exit-codes.js';

const NAME = 'aitoearn-auth';
const COLUMN = 24;

function usageLine(command: CommandName): string {
  const { args } = COMMANDS[command];
  return [NAME, command, ...args, '[options]'].join(' ');
}

/** `  --timeout SECONDS     give up …`, continuation lines indented under the text. */
function optionLines(names: readonly OptionName[]): string[] {
  return names.flatMap((name) => {
    const option: { value?: string; short?: string; help: string } = OPTIONS[name];
    const flag = `${option.short ? `-${option.short}, ` : ''}--${name}${option.value ? ` ${option.value}` : ''}`;
    const [first = '', ...more] = option.help.split('\n');
    return [`  ${flag.padEnd(COLUMN - 3)} ${first}`, ...more.map((line) => `${' '.repeat(COLUMN)}${line}`)];
  });
}

function exitLines(names: readonly ExitName[]): string[] {
  return names.map((name) => `  ${String(EXIT[name]).padEnd(5)}${EXIT_MEANINGS[name]}`);
}

/** Wraps a comma-separated list to the help's width. */
function wrapList(items: readonly string[], indent: string, width = 100): string[] {
  const lines: string[] = [];
  let line = indent;
  for (const item of items) {
    const next = line === indent ? `${indent}${item}` : `${line}, ${item}`;
    if (next.length > width && line !== indent) {
      lines.push(`${line},`);
      line = `${indent}${item}`;
    } else line = next;
  }
  lines.push(line);
  return lines;
}

const PLATFORM_LINES = [
  'Platforms (as the API spells them; anything else is refused before a request is sent):',
  ...wrapList(PLATFORMS, '  '),
];

/** The commands' own options, grouped by the commands that take them: `Options (wait, status):`. */
function optionGroups(): string[] {
  const groups = new Map<string, OptionName[]>();
  for (const name of Object.keys(OPTIONS) as OptionName[]) {
    const takers = (Object.keys(COMMANDS) as CommandName[]).filter((c) =>
      (COMMANDS[c].options as readonly OptionName[]).includes(name),
    );
    if (takers.length === 0) continue;
    const heading = `Options (${takers.join(', ')}):`;
    groups.set(heading, [...(groups.get(heading) ?? []), name]);
  }
  return [...groups].flatMap(([heading, names]) => [heading, ...optionLines(names)]);
}

/** The `--help` text: every command, every option, the platforms and the exit codes. */
export function mainHelp(): string {
  const rows: [string, string][] = [
    ...(Object.keys(COMMANDS) as CommandName[]).map((name): [string, string] => [
      [name, ...COMMANDS[name].args].join(' '),
      COMMANDS[name].summary,
    ]),
    ['help <command>', "show one command's usage, options and exit codes"],
    ['version', 'print the version (also -v, --version)'],
  ];
  const width = Math.max(...rows.map(([usage]) => usage.length)) + 2;
  const allExits = Object.keys(EXIT) as ExitName[];
  return [
    'Usage:',
    ...rows.map(([usage, summary]) => `  ${NAME} ${usage.padEnd(width)}${summary}`),
    '',
    ...optionGroups(),
    'Options (all):',
    ...optionLines(['json', 'quiet', 'help', 'version']),
    '',
    ...PLATFORM_LINES,
    '',
    "Flags beat environment variables. On a terminal, 'connect' and 'wait' show one live line; press Enter to\ncheck now.",
    'NO_COLOR turns colour off. AITOEARN_DEBUG=1 adds the stack trace to a bug report (exit 70).',
    '',
    'Exit codes:',
    ...exitLines(allExits),
    '',
    'Examples:',
    ...(Object.keys(COMMANDS) as CommandName[]).flatMap((name) =>
      COMMANDS[name].examples.map((e) => `  ${e}`),
    ),
    '',
  ].join('\n');
}

/** `aitoearn-auth help <command>` and `<command> --help`: that command's usage only. */
export function commandHelp(command: CommandName): string {
  const spec = COMMANDS[command];
  const takesPlatform = (spec.args as readonly string[]).includes('<platform>');
  return [
    `Usage: ${usageLine(command)}`,
    '',
    `${spec.summary.charAt(0).toUpperCase()}${spec.summary.slice(1)}.`,
    ...spec.details.split('\n'),
    '',
    'Options:',
    ...optionLines(optionsOf(command)),
    ...(takesPlatform ? ['', ...PLATFORM_LINES] : []),
    '',
    'Exit codes:',
    ...exitLines(spec.exits),
    '',
    'Examples:',
    ...spec.examples.map((e) => `  ${e}`),
    '',
  ].join('\n');
}
