import type { CommandModule } from 'yargs';
import { brokerCommand } from './broker';
import { clusterCommand } from './cluster';
import { consoleCommand } from './console';
import { consumeCommand } from './consume';
import { groupCommand } from './group';
import { produceCommand } from './produce';
import { topicCommand } from './topic';
import { coordinatorCommand } from './coordinator';
import { treeCommands } from './tree';
import { quotaCommands } from './quota';
import { topCommand } from './top';

// One entry per noun; each module owns its own file under cli/commands/.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commandModules: CommandModule<any, any>[] = [
  coordinatorCommand,
  brokerCommand,
  topicCommand,
  produceCommand,
  consumeCommand,
  groupCommand,
  clusterCommand,
  consoleCommand,
  ...treeCommands,
  ...quotaCommands,
  topCommand,
];
