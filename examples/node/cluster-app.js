'use strict';
/*
 * SPDX-License-Identifier: ISC
 *
 * cluster-app.js - the classic Node.js cluster app, as the Node.js
 * documentation writes it, run unchanged under clusterd(8) with
 * `ipc = node-cluster` (conf/node-cluster.ini).
 *
 * Started by hand (`node cluster-app.js`) it is its own primary and forks
 * one worker per CPU.  Started by clusterd, every process is a worker
 * (clusterd sets NODE_UNIQUE_ID and opens Node's IPC channel), so the
 * primary branch is never taken: clusterd is the primary.  The worker's
 * listen(8000) asks the primary for the port, and clusterd hands it the
 * socket it has bound; the kernel then passes connections straight to
 * the workers.  A reload replaces them one at a time, each old worker
 * finishing the requests it has (stop_signal = disconnect).
 *
 * PORT overrides 8000 (the tests use it).
 */

const cluster = require('cluster');
const http = require('http');
const os = require('os');

const port = Number(process.env.PORT) || 8000;

if (cluster.isMaster) {
	console.log(`primary ${process.pid} is running`);
	for (let i = 0; i < os.availableParallelism(); i++)
		cluster.fork();
	cluster.on('exit', (worker, code, signal) => {
		console.log(`worker ${worker.process.pid} died`);
	});
} else {
	http.createServer((req, res) => {
		res.writeHead(200);
		res.end(`hello from worker ${cluster.worker.id} ` +
		    `(pid ${process.pid})\n`);
	}).listen(port);
	console.log(`worker ${process.pid} started`);
}
