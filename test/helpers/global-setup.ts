// Says once, at the start of a run, which database dialects (and whether Redis) the tests will use.
export default function setup(): void {
  if (process.env.CHAPAR_TEST_PG) {
    console.log(`[chapar tests] dialects: sqlite, postgres (${process.env.CHAPAR_TEST_PG.replace(/\/\/[^@]*@/, '//***@')})`);
  } else {
    console.log('[chapar tests] dialects: sqlite only. PostgreSQL tests are SKIPPED: set CHAPAR_TEST_PG=postgres://… to run them.');
  }
  if (process.env.CHAPAR_TEST_REDIS) {
    console.log(`[chapar tests] redis: ${process.env.CHAPAR_TEST_REDIS.replace(/\/\/[^@]*@/, '//***@')}`);
  } else {
    console.log('[chapar tests] Redis tests are SKIPPED: set CHAPAR_TEST_REDIS=redis://127.0.0.1:6379 to run them.');
  }
  if (process.env.CHAPAR_TEST_MARIADB) {
    console.log(`[chapar tests] mariadb (WooCommerce shop databases): ${process.env.CHAPAR_TEST_MARIADB.replace(/\/\/[^@]*@/, '//***@')}`);
  } else {
    console.log('[chapar tests] WooCommerce database tests are SKIPPED: set CHAPAR_TEST_MARIADB=mysql://root@127.0.0.1:3306/test to run them.');
  }
}
