import { PLATFORMS } from '../platforms.js';
import { waitDefaults } from '../poll/options.js';
import type { CommandName, ExitName, OptionName } from './args.js';
import { ALL_EXITS, COMMAND_NAMES, COMMANDS, EXITS, GLOBAL, OPTIONS, optionsOf } from './args.js';

/** `  --timeout SECONDS     give up …`, continuation lines indented under the text. */
const optionLines = (names: readonly OptionName[]) =>
  names.map((name) => {
    const o: { value?: string; short?: string; help: string } = OPTIONS[name];
    const flag = `${o.short ? `-${o.short}, ` : ''}--${name}${o.value ? ` ${o.value}` : ''}`;
    const help = o.help.replace('{timeout}', String(waitDefaults.timeoutMs / 1000));
    return `  ${flag.padEnd(21)} ${help.replaceAll('\n', `\n${' '.repeat(24)}`)}`;
  });

/** The exit codes, then the examples of `commands`. */
const exitLines = (names: readonly ExitName[], commands: readonly CommandName[]) => [
  '\nExit codes:',
  ...names.map(
    (n) => `  ${String(EXITS[n].code).padEnd(5)}${EXITS[n].meaning.replaceAll('\n', '\n       ')}`,
  ),
  '\nExamples:',
  ...commands.map((name) => `  ${COMMANDS[name].example}`),
];

const PLATFORM_LINES = [
  'Platforms (as the API spells them; anything else is refused before a request is sent):',
  ...(PLATFORMS.join(', ').match(/.{1,94}(,|$)/g) ?? []).map((line) => `  ${line.trim()}`),
];

/** The `--help` text: every command, its options grouped by the commands that take them, platforms, exits. */
export function mainHelp(): string {
  const usage = [
    ...COMMAND_NAMES.map((name) => [[name, ...COMMANDS[name].args].join(' '), COMMANDS[name].summary]),
    ['help <command>', "show one command's usage, options and exit codes"],
    ['version', 'print the version (also -v, --version)'],
  ];
  const groups = new Map<string, OptionName[]>();
  for (const name of Object.keys(OPTIONS) as OptionName[]) {
    const takers = COMMAND_NAMES.filter((c) => (COMMANDS[c].options as readonly string[]).includes(name));
    if (takers.length > 0) groups.set(takers.join(', '), [...(groups.get(takers.join(', ')) ?? []), name]);
  }
  return `${[
    'Usage:',
    ...usage.map(([line = '', summary]) => `  aitoearn-auth ${line.padEnd(29)}${summary}`),
    '',
    ...[...groups].flatMap(([takers, names]) => [`Options (${takers}):`, ...optionLines(names)]),
    'Options (all):',
    ...optionLines([...GLOBAL, 'version']),
    '',
    ...PLATFORM_LINES,
    '',
    "Flags beat environment variables. On a terminal, 'connect' and 'wait' show one live line; press Enter to\ncheck now.",
    'NO_COLOR turns colour off. AITOEARN_DEBUG=1 adds the stack trace to a bug report (exit 70).',
    ...exitLines(ALL_EXITS, COMMAND_NAMES),
  ].join('\n')}\n`;
}

/** `aitoearn-auth help <command>` and `<command> --help`: that command's usage only; without one, `--help`. */
export function commandHelp(command: CommandName | undefined): string {
  if (command === undefined) return mainHelp();
  const { args, summary, details, exits } = COMMANDS[command];
  return `${[
    `Usage: ${['aitoearn-auth', command, ...args, '[options]'].join(' ')}`,
    '',
    `${summary.charAt(0).toUpperCase()}${summary.slice(1)}.`,
    details,
    '',
    'Options:',
    ...optionLines(optionsOf(command)),
    ...(args.length > 0 ? ['', ...PLATFORM_LINES] : []),
    ...exitLines(exits, [command]),
  ].join('\n')}\n`;
}
