// Says once, at the start of a run, which database dialects the tests will use.
export default function setup(): void {
  if (process.env.CHAPAR_TEST_PG) {
    console.log(`[chapar tests] dialects: sqlite, postgres (${process.env.CHAPAR_TEST_PG.replace(/\/\/[^@]*@/, '//***@')})`);
  } else {
    console.log('[chapar tests] dialects: sqlite only. PostgreSQL tests are SKIPPED: set CHAPAR_TEST_PG=postgres://… to run them.');
  }
}
