'use strict';
/*
 * SPDX-License-Identifier: ISC
 *
 * handle-worker.js - a Node.js worker written for a hand-rolled master,
 * run unchanged under clusterd(8).
 *
 * The classic master forks its workers with child_process.fork() and hands
 * each one the listening socket:
 *
 *	const child = child_process.fork('handle-worker.js');
 *	child.send('server', server);
 *
 * With `ipc = node` and `node_handle = server:web` clusterd does the same
 * (conf/node-handle.ini): Node.js opens the channel itself (NODE_CHANNEL_FD)
 * and emits 'message' with ('server', net.Server).
 *
 * On an uncaught exception the worker does what the cluster documentation
 * recommends: ask the master for a replacement ({act: 'suicide'}: clusterd
 * starts it at once), stop accepting, answer the request that failed with
 * a 500, let the others finish, then exit.  Until then the other workers
 * and the replacement serve the port; the kernel queues what comes in
 * meanwhile, so no connection is refused.
 *
 *	GET /		"hello from worker N (pid P)"
 *	GET /slow	the same, after 500 ms (in-flight work)
 *	GET /boom	a bug: an exception thrown in a callback
 */

const http = require('http');
const { AsyncLocalStorage } = require('async_hooks');

const GRACE_MS = 10000;		/* then give up on lingering clients */

/* The response each callback works for, even in uncaughtException. */
const current = new AsyncLocalStorage();
/* Open connections: the response in progress on each, or null. */
const sockets = new Map();
let listener = null;
let leaving = false;
let exitCode = 0;
let asking = false;		/* the suicide message is on its way */

const httpServer = http.createServer((req, res) => {
	const socket = req.socket;

	sockets.set(socket, res);
	if (leaving)
		res.setHeader('Connection', 'close');
	res.on('finish', () => {
		sockets.set(socket, null);
		if (leaving)
			socket.end();
	});
	current.run(res, () => route(req, res));
});

function route(req, res) {
	const hello = `hello from worker ${process.env.CLUSTERD_WORKER} ` +
	    `(pid ${process.pid})\n`;

	switch (req.url) {
	case '/':
		res.end(hello);
		break;
	case '/slow':
		setTimeout(() => res.end(hello), 500);
		break;
	case '/boom':
		/* A bug in a callback: no try/catch can reach it. */
		setImmediate(() => {
			throw new Error('boom');
		});
		break;
	default:
		res.statusCode = 404;
		res.end('not found\n');
	}
}

process.on('message', (m, server) => {
	if (m !== 'server' || listener !== null)
		return;
	listener = server;
	/* The master's socket: hand every connection to the HTTP server. */
	listener.on('connection', (socket) => {
		sockets.set(socket, undefined);		/* no request yet */
		socket.on('close', () => {
			sockets.delete(socket);
			done();
		});
		httpServer.emit('connection', socket);
	});
	process.send('ready');
});

process.on('uncaughtException', (err) => {
	const res = current.getStore();

	console.error(`worker ${process.env.CLUSTERD_WORKER} ` +
	    `(pid ${process.pid}): ${err.stack}`);
	if (res !== undefined && !res.headersSent) {
		res.writeHead(500, { 'Connection': 'close' });
		res.end('internal error\n');
	} else if (res !== undefined) {
		res.destroy();
	}
	leave(1);
});

process.on('SIGTERM', () => leave(0));

/*
 * Stop accepting, and exit once every connection is gone: idle keep-alive
 * ones are closed now, busy ones after their response (with "Connection:
 * close"), and one whose first request has not arrived yet is still
 * answered.  After an exception, ask for a replacement first: clusterd
 * starts it at once and sends this worker no signal.
 */
function leave(code) {
	if (leaving)
		return;
	leaving = true;
	exitCode = code;
	if (code !== 0 && process.connected) {
		asking = true;
		process.send({ act: 'suicide' }, () => {
			asking = false;
			done();
		});
	}
	if (listener !== null)
		listener.close();
	for (const [socket, res] of sockets) {
		if (res === null)
			socket.end();
		else if (res !== undefined && !res.headersSent)
			res.setHeader('Connection', 'close');
	}
	setTimeout(() => process.exit(code), GRACE_MS).unref();
	done();
}

function done() {
	if (leaving && !asking && sockets.size === 0)
		process.exit(exitCode);
}
