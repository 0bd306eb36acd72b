// The baseline of bench:events: a bare Fastify route answering 200, in its own process like Chapar.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/ok', async () => 'ok');
const address = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`listening on ${address}\n`);
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
