import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

export const SPAMASSASSIN = '/usr/bin/spamassassin';

/** True when Debian's spamassassin is installed (CI installs it; elsewhere the check is skipped with a notice). */
export function spamAssassinInstalled(): boolean {
  return existsSync(SPAMASSASSIN);
}

// Scores many messages in one Perl process, with the same rules and settings as
// `spamassassin -L -t` (local tests only); starting SpamAssassin once per message takes seconds.
// Bayes is off so a run never trains the machine's database (untrained, it scores nothing anyway).
const SCORER = `
use strict; use warnings; use Mail::SpamAssassin;
my $sa = Mail::SpamAssassin->new({ local_tests_only => 1, post_config_text => "use_bayes 0\\nbayes_auto_learn 0\\n" });
for my $file (@ARGV) {
  open(my $fh, '<', $file) or die "$file: $!";
  my $msg = $sa->parse($fh);
  my $status = $sa->check($msg);
  printf "%s\\t%.1f\\t%s\\n", $file, $status->get_score(), $status->get_names_of_tests_hit_with_scores();
  $status->finish(); $msg->finish(); close($fh);
}`;

/** Scores .eml files: file → { score, tests }. */
export async function scoreMessages(files: string[]): Promise<Map<string, { score: number; tests: string }>> {
  const { stdout } = await promisify(execFile)('perl', ['-e', SCORER, ...files], { maxBuffer: 1 << 22, timeout: 120_000 });
  const out = new Map<string, { score: number; tests: string }>();
  for (const line of stdout.trim().split('\n')) {
    const [file = '', score = '', tests = ''] = line.split('\t');
    out.set(file, { score: Number(score), tests });
  }
  return out;
}
