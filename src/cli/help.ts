import { PLATFORMS } from '../platforms.js';
import { COMMAND_NAMES, COMMANDS, type CommandName, OPTIONS, type OptionName, optionsOf } from './args.js';
import { EXITS, type ExitName } from './exit-codes.js';

const NAME = 'aitoearn-auth';

/** `  --timeout SECONDS     give up …`, continuation lines indented under the text. */
function optionLines(names: readonly OptionName[]): string[] {
  return names.flatMap((name) => {
    const o: { value?: string; short?: string; help: string } = OPTIONS[name];
    const flag = `${o.short ? `-${o.short}, ` : ''}--${name}${o.value ? ` ${o.value}` : ''}`;
    const [first, ...more] = o.help.split('\n');
    return [`  ${flag.padEnd(21)} ${first}`, ...more.map((line) => `${' '.repeat(24)}${line}`)];
  });
}

const exitLines = (names: readonly ExitName[]) =>
  names.map(
    (name) => `  ${String(EXITS[name].code).padEnd(5)}${EXITS[name].meaning.replaceAll('\n', '\n       ')}`,
  );

/** The platforms, wrapped at about 100 columns. */
const platformLines = [
  'Platforms (as the API spells them; anything else is refused before a request is sent):',
  '',
];
for (const platform of PLATFORMS) {
  if ((platformLines.at(-1) ?? '').length + platform.length > 94) platformLines.push('');
  platformLines[platformLines.length - 1] += `${platform}, `;
}
const PLATFORM_LINES = platformLines.map((l, i) =>
  i === 0 ? l : `  ${i === platformLines.length - 1 ? l.slice(0, -2) : l.trimEnd()}`,
);

/** The `--help` text: every command, its options grouped by the commands that take them, platforms, exits. */
export function mainHelp(): string {
  const rows = [
    ...COMMAND_NAMES.map((name) => [[name, ...COMMANDS[name].args].join(' '), COMMANDS[name].summary]),
    ['help <command>', "show one command's usage, options and exit codes"],
    ['version', 'print the version (also -v, --version)'],
  ];
  const groups = new Map<string, OptionName[]>();
  for (const name of Object.keys(OPTIONS) as OptionName[]) {
    const takers = COMMAND_NAMES.filter((c) => (COMMANDS[c].options as readonly string[]).includes(name));
    if (takers.length > 0) groups.set(takers.join(', '), [...(groups.get(takers.join(', ')) ?? []), name]);
  }
  return [
    'Usage:',
    ...rows.map(([usage = '', summary]) => `  ${NAME} ${usage.padEnd(29)}${summary}`),
    '',
    ...[...groups].flatMap(([takers, names]) => [`Options (${takers}):`, ...optionLines(names)]),
    'Options (all):',
    ...optionLines(['json', 'quiet', 'help', 'version']),
    '',
    ...PLATFORM_LINES,
    '',
    "Flags beat environment variables. On a terminal, 'connect' and 'wait' show one live line; press Enter to\ncheck now.",
    'NO_COLOR turns colour off. AITOEARN_DEBUG=1 adds the stack trace to a bug report (exit 70).',
    '',
    'Exit codes:',
    ...exitLines(Object.keys(EXITS) as ExitName[]),
    '',
    'Examples:',
    ...COMMAND_NAMES.flatMap((name) => COMMANDS[name].examples.map((e) => `  ${e}`)),
    '',
  ].join('\n');
}

/** `aitoearn-auth help <command>` and `<command> --help`: that command's usage only. */
export function commandHelp(command: CommandName): string {
  const spec = COMMANDS[command];
  return [
    `Usage: ${[NAME, command, ...spec.args, '[options]'].join(' ')}`,
    '',
    `${spec.summary.charAt(0).toUpperCase()}${spec.summary.slice(1)}.`,
    spec.details,
    '',
    'Options:',
    ...optionLines(optionsOf(command)),
    ...(spec.args.length > 0 ? ['', ...PLATFORM_LINES] : []),
    '',
    'Exit codes:',
    ...exitLines(spec.exits),
    '',
    'Examples:',
    ...spec.examples.map((e) => `  ${e}`),
    '',
  ].join('\n');
}
