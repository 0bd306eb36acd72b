import type { Command } from 'commander';
import { createTopic, listTopics } from '../services/topics.ts';
import { withApp, type CliIo } from './io.ts';

/** `chapar topics list|create`: topics must exist before a CSV can set statuses on them. */
export function registerTopics(program: Command, io: CliIo): void {
  const topics = program.command('topics').description('manage subscription topics (newsletter, promotions, …)');
  topics
    .command('list')
    .description('list topics')
    .action(async () => {
      await withApp(io, async (app) => {
        for (const t of await listTopics(app.ctx)) io.stdout.write(`${t.key}\t${t.name}\n`);
      });
    });
  topics
    .command('create')
    .description('create a topic')
    .argument('<key>', 'slug used in CSV headers (topic.<key>), URLs and templates')
    .requiredOption('--name <name>', 'the name contacts see, e.g. "Weekly newsletter"')
    .option('--description <text>', 'what the topic sends and how often')
    .action(async (key: string, opts: { name: string; description?: string }) => {
      await withApp(io, async (app) => {
        const t = await createTopic(app.ctx, { key, name: opts.name, description: opts.description });
        io.stdout.write(`created topic ${t.key}\n`);
      });
    });
}
