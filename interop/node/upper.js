#!/usr/bin/env node
// upper.js - the uppercase server (SPEC.md) the way a Node.js developer writes it: net and dgram on
// one port, the event loop, each connection piped through a Transform stream.
//
// usage: node upper.js [--naive] [PORT]   (default $PORT or 8082; 0 picks a free port; binds $HOST
// or 127.0.0.1). The first lines printed are "listening on tcp|udp ADDR:PORT".
//
// --naive swaps in the one line newcomers write, data.toString().toUpperCase(): each chunk is decoded
// as UTF-8 (bytes that are not UTF-8, or a character split between two reads, become U+FFFD) and
// uppercased as Unicode text (e-acute, sharp s to "SS"). ci/expected-failures/node-naive.txt lists
// what conform fails it for.
'use strict';
const net = require('net');
const dgram = require('dgram');
const { Transform, pipeline } = require('stream');

// SPEC X1: only the bytes a-z change, whatever the bytes around them are.
function upper(data) {
  const out = Buffer.from(data);
  for (let i = 0; i < out.length; i++) {
    if (out[i] >= 0x61 && out[i] <= 0x7a) out[i] -= 0x20;
  }
  return out;
}

// NAIVE (--naive): what newcomers write; wrong for every byte that is not ASCII.
function naiveUpper(data) {
  return Buffer.from(data.toString().toUpperCase());
}

function main(args) {
  if (args[0] === '-h' || args[0] === '--help') {
    console.log('usage: node upper.js [--naive] [PORT]   (default $PORT or 8082; 0: a free port)');
    return;
  }
  const naive = args[0] === '--naive';
  if (naive) args = args.slice(1);
  const text = args[0] !== undefined ? args[0] : (process.env.PORT || '8082');
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`upper.js: port '${text}' is not a number`);
    process.exit(2);
  }
  const host = process.env.HOST || '127.0.0.1';
  const transform = naive ? naiveUpper : upper;

  // allowHalfOpen: after the client's FIN, the answer still owed is sent, then our FIN (T4).
  // pipeline() pauses reading while the socket's write buffer is full (T8) and destroys the pair on
  // an error, so a reset ends that connection only (T6).
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    const up = new Transform({
      transform(chunk, _encoding, done) {
        done(null, transform(chunk));
      },
    });
    pipeline(socket, up, socket, () => {});
  });
  server.on('error', (err) => {
    console.error(`upper.js: ${err.message}`);
    process.exit(1);
  });
  server.listen({ host, port, backlog: 1024 }, () => {
    const bound = server.address().port;
    const udp = dgram.createSocket('udp4');
    udp.on('message', (msg, rinfo) => {
      udp.send(transform(msg), rinfo.port, rinfo.address, () => {}); // a vanished sender is no error
    });
    udp.on('error', (err) => {
      console.error(`upper.js: udp: ${err.message}`);
      process.exit(1);
    });
    udp.bind(bound, host, () => {
      console.log(`listening on tcp ${host}:${bound}`);
      console.log(`listening on udp ${host}:${bound}`);
    });
  });
}

main(process.argv.slice(2));
