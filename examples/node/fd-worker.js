'use strict';
/*
 * SPDX-License-Identifier: ISC
 *
 * fd-worker.js - a Node.js HTTP worker for clusterd(8) that serves the
 * socket it finds at CLUSTERD_FD_WEB (conf/node-fd.ini).
 *
 * With `ipc = node` Node.js opens clusterd's channel itself, so
 * process.send('ready') works (PM2 workers do the same) and tells
 * clusterd the worker is up (`ready = message`).
 *
 * SIGTERM: stop accepting, finish the requests in flight, exit 0.
 */

const http = require('http');

const fd = Number(process.env.CLUSTERD_FD_WEB);
const server = http.createServer((req, res) => {
	res.end(`hello from worker ${process.env.CLUSTERD_WORKER} ` +
	    `(pid ${process.pid})\n`);
});

server.listen({ fd }, () => {
	if (process.send !== undefined)
		process.send('ready');
});

process.on('SIGTERM', () => {
	server.close(() => process.exit(0));
	server.closeIdleConnections();
});
