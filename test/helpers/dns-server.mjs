// A tiny authoritative DNS server for tests: answers TXT (and A) queries from a JSON zone file
// given as argv[2] ({ "name": "value" } for TXT), on 127.0.0.1:53 or argv[3]. Prints "ready"
// once listening. Written by hand (dgram) to control how long TXT values are split into
// 255-byte strings, which is exactly what DKIM keys need.
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';

const zone = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const port = Number(process.argv[3] ?? 53);
const socket = createSocket('udp4');

function readName(buf, offset) {
  const labels = [];
  let i = offset;
  while (buf[i] !== 0) {
    const len = buf[i];
    labels.push(buf.subarray(i + 1, i + 1 + len).toString('ascii'));
    i += len + 1;
  }
  return { name: labels.join('.').toLowerCase(), end: i + 1 };
}

socket.on('message', (msg, rinfo) => {
  const id = msg.readUInt16BE(0);
  const { name, end } = readName(msg, 12);
  const qtype = msg.readUInt16BE(end);
  const question = msg.subarray(12, end + 4);
  const value = zone[name];
  const answers = [];
  if (value !== undefined && qtype === 16) {
    const bytes = Buffer.from(value, 'utf8');
    const chunks = [];
    for (let i = 0; i < bytes.length; i += 255) {
      const part = bytes.subarray(i, i + 255);
      chunks.push(Buffer.from([part.length]), part);
    }
    const rdata = Buffer.concat(chunks);
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0); // pointer to the question name
    rr.writeUInt16BE(16, 2); // TXT
    rr.writeUInt16BE(1, 4); // IN
    rr.writeUInt32BE(60, 6);
    rr.writeUInt16BE(rdata.length, 10);
    answers.push(rr, rdata);
  }
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(value === undefined ? 0x8583 : 0x8580, 2); // response, authoritative, NXDOMAIN or no error
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length / 2, 6);
  socket.send(Buffer.concat([header, question, ...answers]), rinfo.port, rinfo.address);
});

socket.bind(port, '127.0.0.1', () => console.log('ready'));
