import type { CommandModule } from 'yargs';
import { brokerCommand } from './broker';
import { coordinatorCommand } from './coordinator';
import { treeCommands } from './tree';

// One entry per noun; each module owns its own file under cli/commands/.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commandModules: CommandModule<any, any>[] = [
  coordinatorCommand,
  brokerCommand,
  ...treeCommands,
];
